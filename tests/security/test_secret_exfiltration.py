"""Secrets must not leave through the agent proposer: what its tools read or print (file
contents, command output, the environment) reaches the model redacted, and the sandbox in
which its commands run inherits none of the host's keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from calc_batch import Watch
from fake_chat import FakeChat, calls

from theseus.config import Settings, load_settings
from theseus.paths import rules_from
from theseus.propose import ProposalContext, SearchBudget
from theseus.propose.agent.proposer import AgentProposer

pytestmark = pytest.mark.e2e

SECRET = "sk-live-0123456789abcdef0123"
HOST_KEY = "sk-host-env-9876543210fedcba9876"
TOML = """\
[agent]
package = "calc"
entrypoint = "calc.ops:add"
[paths]
mutable = ["calc/**/*.py"]
protected = ["tests/**/*.py"]
[tests]
command = "python -m pytest -q -p no:cacheprovider tests"
"""


def _project(root: Path) -> Settings:
    (root / "calc").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "calc" / "__init__.py").write_text("")
    (root / "calc" / "ops.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "calc" / "settings.py").write_text(f'API_KEY = "{SECRET}"\n')
    (root / "tests" / "test_ops.py").write_text(
        "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    (root / "theseus.toml").write_text(TOML)
    return load_settings(root / "theseus.toml")


def test_the_model_never_reads_a_secret_through_the_agents_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", HOST_KEY)  # the host's own key, in our environment
    root = tmp_path / "proj"
    settings = _project(root)
    chat = FakeChat(
        [
            calls(("view_file", {"path": "calc/settings.py"})),
            calls(("run_command", {"command": "cat calc/settings.py; grep -r sk- . || true"})),
            calls(
                ("run_command", {"command": "env; cat /proc/1/environ | tr '\\0' '\\n' || true"})
            ),
            calls(("finish", {"summary": "done"})),
        ]
    )
    watch = Watch()
    ctx = ProposalContext(
        root=root,
        base_commit="base0",
        rules=rules_from(root, ["calc/**/*.py"], ["tests/**/*.py"]),
        budget=SearchBudget.from_seconds(120, 5),
        test_command="python -m pytest -q -p no:cacheprovider tests",
        spending=watch.spending,
        on_rejected=watch.rejected.append,
        notes=watch.notes.append,
    )
    list(AgentProposer(chat, settings).propose(ctx))
    everything = "\n".join(str(m.content) for c in chat.calls for m in c["messages"])
    assert "[REDACTED:api_key" in everything, "the tools did read the file"
    assert SECRET not in everything
    assert HOST_KEY not in everything
