"""The agent proposer: end to end through the real OpenAI SDK client against the scripted
server (view, run the failing tests, edit, re-run, finish -> one candidate whose diff fixes
the project), malformed tool arguments, and, with an in-memory client, the loop's rules:
finish is checked (no change, policy, failing tests are shown back), changes outside the
mutable files are undone, and the step, token, time and cycle-budget limits stop it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from calc_batch import Watch, wrong_sum_batch
from fake_chat import FakeChat, calls
from scripted_llm import ScriptedLLMServer, text, tool_calls

from theseus.change.apply import apply_patch
from theseus.config import Settings, load_settings
from theseus.gate.budgets import CycleBudget
from theseus.paths import rules_from
from theseus.propose.agent.proposer import SYSTEM_PROMPT, AgentProposer
from theseus.propose.agent.tools import TOOL_SPECS, run_in_sandbox
from theseus.propose.base import Attempt, ProposalContext, SearchBudget
from theseus.propose.llm import make_client
from theseus.propose.llm.accounting import estimate_prompt_tokens
from theseus.propose.llm.client import LLMError, Message, Reply, Usage
from theseus.propose.repair.proposer import diff_key

BUGGY = "def add(a, b):\n    return a - b\n"
TESTS = "python -m pytest -q -p no:cacheprovider tests"
QUICK = 'python -c "from calc.ops import add; assert add(2, 3) == 5, add(2, 3)"'
"""The loop tests check with this (a pytest start costs ~1.5 s on a busy machine)."""
TOML = f"""\
[agent]
package = "calc"
entrypoint = "calc.ops:add"

[paths]
mutable = ["calc/**/*.py"]
protected = ["tests/**/*.py"]

[tests]
command = "{TESTS}"
"""


def make_project(root: Path) -> Settings:
    (root / "calc").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "calc" / "__init__.py").write_text("", encoding="utf-8")
    (root / "calc" / "ops.py").write_text(BUGGY, encoding="utf-8")
    (root / "tests" / "test_ops.py").write_text(
        "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
        encoding="utf-8",
    )
    (root / "theseus.toml").write_text(TOML, encoding="utf-8")
    return load_settings(root / "theseus.toml")


def configure(settings: Settings, *, agent: dict[str, Any] | None = None,
              llm: dict[str, Any] | None = None) -> Settings:  # fmt: skip
    propose = settings.propose.model_copy(
        update={
            "agent": settings.propose.agent.model_copy(update=agent or {}),
            "llm": settings.propose.llm.model_copy(update=llm or {}),
        }
    )
    return settings.model_copy(update={"propose": propose})


def context(root: Path, watch: Watch, *, seconds: float = 60.0, with_batch: bool = False,
            attempts: tuple[Attempt, ...] = (), command: str = QUICK) -> ProposalContext:  # fmt: skip
    return ProposalContext(
        root=root, base_commit="base0", rules=rules_from(root, ["calc/**/*.py"], ["tests/**/*.py"]),
        budget=SearchBudget.from_seconds(seconds, 5), batch=wrong_sum_batch() if with_batch else None,
        test_command=command, attempts=attempts, spending=watch.spending,
        on_rejected=watch.rejected.append, notes=watch.notes.append,
    )  # fmt: skip


FIX = ("edit_file", {"path": "calc/ops.py", "old": "a - b", "new": "a + b"})
FINISH = ("finish", {"summary": "add subtracted; it adds now"})


def run(root: Path, settings: Settings, chat: Any, watch: Watch, **ctx: Any) -> list[Any]:
    return list(AgentProposer(chat, settings).propose(context(root, watch, **ctx)))


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Settings]:
    root = tmp_path / "proj"
    return root, make_project(root)


def fixes_the_project(root: Path, diff: str, tmp: Path, settings: Settings) -> bool:
    copy = tmp / "check"
    shutil.copytree(root, copy)
    apply_patch(copy, diff)
    code, _, _ = run_in_sandbox(QUICK, copy, settings, 60)
    return code == 0


# -- end to end through the real SDK -------------------------------------------------------------


def test_agent_fixes_a_failing_test_through_the_openai_client(
    project: tuple[Path, Settings], llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    root, base = project
    settings = configure(base, llm={"base_url": llm_server.base_url, "model": "scripted-model",
                                    "api_key_env": "AGENT_KEY", "prices": {"input": 1.0, "output": 2.0}})  # fmt: skip
    llm_server.script(
        tool_calls([("list_files", {}), ("view_file", {"path": "calc/ops.py"})]),
        tool_calls([("run_command", {"command": TESTS})]),
        tool_calls([FIX]),
        tool_calls([("view_file", {"path": "calc/ops.py"})]),
        tool_calls([FINISH], text="Done."),
    )
    client = make_client(settings.propose.llm, env={"AGENT_KEY": "test-key"})
    watch = Watch()
    found = run(root, settings, client, watch, with_batch=True, command=TESTS)

    assert len(found) == 1 and watch.notes == [] and watch.rejected == []
    candidate = found[0]
    assert candidate.proposer == "agent" and candidate.signature == "wrong-sum"
    assert candidate.rationale == "add subtracted; it adds now"
    assert "-    return a - b\n+    return a + b" in candidate.diff
    assert fixes_the_project(root, candidate.diff, tmp_path, settings)
    assert (root / "calc" / "ops.py").read_text(encoding="utf-8") == BUGGY  # worked on a copy
    meta = candidate.meta
    assert (meta["steps"], meta["input_tokens"], meta["output_tokens"]) == (5, 500, 250)
    assert meta["cost_usd"] == pytest.approx(0.001) and meta["model"] == "scripted-model"
    assert watch.spending.tokens == 750 and watch.spending.cost_usd == pytest.approx(0.001)

    requests = llm_server.requests
    assert len(requests) == 5 and llm_server.remaining() == 0
    first = requests[0]["messages"]
    assert first[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert "add(2, 3) returns -1" in first[1]["content"] and f"`{TESTS}`" in first[1]["content"]
    assert [t["function"]["name"] for t in requests[0]["tools"]] == [s.name for s in TOOL_SPECS]
    results = [m["content"] for m in requests[1]["messages"] if m["role"] == "tool"]
    assert "calc/ops.py (editable)" in results[0] and "return a - b" in results[1]
    ran = requests[2]["messages"][-1]
    assert ran["role"] == "tool" and "1 failed" in ran["content"]
    assert "return a + b" in requests[4]["messages"][-1]["content"]


def test_malformed_tool_arguments_go_back_to_the_model(
    project: tuple[Path, Settings], llm_server: ScriptedLLMServer
) -> None:
    root, base = project
    settings = configure(base, agent={"max_steps": 2}, llm={
        "base_url": llm_server.base_url, "model": "scripted-model", "api_key_env": "AGENT_KEY"})  # fmt: skip
    llm_server.script(
        tool_calls([("edit_file", '{"path": "calc/ops.py", "old": '), ("view_file", {"path": 7})]),
        text("I cannot fix it."),
    )
    client = make_client(settings.propose.llm, env={"AGENT_KEY": "test-key"})
    watch = Watch()
    assert run(root, settings, client, watch) == []
    results = [m["content"] for m in llm_server.requests[1]["messages"] if m["role"] == "tool"]
    assert "not a JSON object" in results[0] and "must be a string" in results[1]
    assert watch.notes == ["agent: stopped after 2 steps: step limit (2) reached"]
    assert [r.reason for r in watch.rejected] == ["no change (step limit (2) reached)"]
    assert watch.rejected[0].tokens == 300


# -- the loop's rules -----------------------------------------------------------------------------


def test_finish_is_checked_and_failures_are_shown_back(project: tuple[Path, Settings]) -> None:
    root, settings = project
    wrong = ("edit_file", {"path": "calc/ops.py", "old": "a - b", "new": "a * b"})
    right = ("edit_file", {"path": "calc/ops.py", "old": "a * b", "new": "a + b"})
    chat = FakeChat(
        [calls(FINISH), calls(wrong, FINISH), Reply("fixed it", ()), calls(right, FINISH)]
    )
    watch = Watch()
    found = run(root, settings, chat, watch)
    assert len(found) == 1 and found[0].meta["steps"] == 4
    told = [c["messages"][-1] for c in chat.calls[1:]]
    assert told[0].role == "tool" and "No file is changed yet" in told[0].content
    assert told[1].role == "tool" and "The tests fail (exit status 1)" in told[1].content
    assert "AssertionError: 6" in told[1].content
    assert told[2].role == "user" and "The tests fail" in told[2].content  # answered without tools
    assert found[0].rationale == "add subtracted; it adds now"


def test_policy_violations_are_shown_and_nothing_forbidden_is_proposed(
    project: tuple[Path, Settings],
) -> None:
    root, settings = project
    bad = ("create_file", {"path": "calc/ops.py", "content": "import subprocess\n\n\n"
                           "def add(a, b):\n    subprocess.run(['true'])\n    return a + b\n"})  # fmt: skip
    good = ("create_file", {"path": "calc/ops.py", "content": "def add(a, b):\n    return a + b\n"})
    chat = FakeChat([calls(bad, FINISH), calls(good, FINISH)])
    watch = Watch()
    found = run(root, settings, chat, watch)
    told = chat.calls[1]["messages"][-1].content
    assert "breaks the project's policy" in told and "forbidden-process" in told
    assert len(found) == 1 and "subprocess" not in found[0].diff


def test_changes_outside_the_mutable_files_are_undone(project: tuple[Path, Settings]) -> None:
    root, settings = project
    cheat = ("run_command", {"command": "printf 'def test_add():\\n    pass\\n' > tests/test_ops.py;"
                             " echo scratch > notes.txt"})  # fmt: skip
    chat = FakeChat([calls(cheat, FINISH), calls(FIX, FINISH)])
    watch = Watch()
    found = run(root, settings, chat, watch)
    told = chat.calls[1]["messages"][-1].content
    assert "Changes to notes.txt, tests/test_ops.py were undone" in told
    assert "No file is changed yet" in told
    assert len(found) == 1 and found[0].diff.count("diff --git") == 1
    assert "calc/ops.py" in found[0].diff


def test_a_change_tried_before_is_refused(project: tuple[Path, Settings], tmp_path: Path) -> None:
    root, settings = project
    first = run(root, settings, FakeChat([calls(FIX, FINISH)]), Watch())
    tried = Attempt(key=diff_key(first[0].diff), outcome="failed", reason="regressions")
    chat = FakeChat([calls(FIX, FINISH)])
    watch = Watch()
    settings = configure(settings, agent={"max_steps": 2})
    assert run(root, settings, chat, watch, attempts=(tried,)) == []
    assert "was tried before" in chat.calls[1]["messages"][-1].content
    assert watch.rejected[0].reason.startswith("stopped before the change passed the tests")
    assert "+    return a + b" in watch.rejected[0].excerpt


def test_secrets_are_redacted_in_what_the_model_reads_and_restored_in_its_edits(
    project: tuple[Path, Settings],
) -> None:
    root, settings = project
    secret = "sk-live-0123456789abcdef0123"
    (root / "calc" / "config.py").write_text(f'API_KEY = "{secret}"\n', encoding="utf-8")

    def edit_what_it_saw(messages: list[Message]) -> Reply:
        seen = messages[-1].content
        assert secret not in seen and "[REDACTED:api_key#1]" in seen
        line = 'API_KEY = "[REDACTED:api_key#1]"'
        return calls(("edit_file", {"path": "calc/config.py", "old": line,
                                    "new": line + "  # rotated yearly"}), FIX, FINISH)  # fmt: skip

    chat = FakeChat([calls(("view_file", {"path": "calc/config.py"})), edit_what_it_saw])
    [candidate] = run(root, settings, chat, Watch())
    assert f'+API_KEY = "{secret}"  # rotated yearly' in candidate.diff
    assert all(secret not in str(m) for c in chat.calls for m in c["messages"])


# -- limits ---------------------------------------------------------------------------------------


def test_step_limit_stops_the_run(project: tuple[Path, Settings]) -> None:
    root, base = project
    settings = configure(base, agent={"max_steps": 3})
    wrong = ("edit_file", {"path": "calc/ops.py", "old": "a - b", "new": "a * b"})
    chat = FakeChat([calls(wrong, FINISH)])
    watch = Watch()
    assert run(root, settings, chat, watch) == []
    assert len(chat.calls) == 3
    assert watch.notes == ["agent: stopped after 3 steps: step limit (3) reached"]
    (rejected,) = watch.rejected
    assert rejected.proposer == "agent" and rejected.tokens == 450
    assert rejected.reason == ("stopped before the change passed the tests (step limit (3) "
                               "reached); last test run: exit status 1")  # fmt: skip
    assert "+    return a * b" in rejected.excerpt


def test_token_limit_stops_the_run_and_caps_each_answer(project: tuple[Path, Settings]) -> None:
    root, base = project
    settings = configure(base, agent={"max_tokens": 3_100})
    chat = FakeChat([calls(("list_files", {}), usage=Usage(2_000, 1_000))] * 5)
    watch = Watch()
    assert run(root, settings, chat, watch) == []
    assert len(chat.calls) == 1
    first = chat.calls[0]
    estimate = estimate_prompt_tokens(first["messages"], TOOL_SPECS)
    assert first["max_tokens"] == min(settings.propose.llm.max_output_tokens, 3_100 - estimate)
    assert watch.notes == ["agent: stopped after 1 steps: token limit (3100) reached (3000 used)"]
    assert watch.rejected[0].reason == "no change (token limit (3100) reached (3000 used))"


def test_cycle_budget_stops_before_the_call_that_would_exceed_it(
    project: tuple[Path, Settings],
) -> None:
    root, settings = project
    chat = FakeChat([calls(("list_files", {}), usage=Usage(1_000, 100))] * 5)
    room = settings.propose.llm.max_output_tokens + 3_000
    watch = Watch(CycleBudget(max_tokens=room))
    assert run(root, settings, chat, watch) == []
    assert 1 <= len(chat.calls) < 5 and watch.spending.tokens <= room
    assert "budget:" in watch.notes[-1] and "would be exceeded" in watch.notes[-1]
    none = Watch(CycleBudget(max_tokens=10))
    idle = FakeChat([])
    assert run(root, settings, idle, none) == [] and idle.calls == []
    assert none.notes[0].startswith("agent: stopped after 0 steps: budget: 10 LLM tokens")


def test_no_time_no_calls(project: tuple[Path, Settings]) -> None:
    root, settings = project
    chat = FakeChat([])
    watch = Watch()
    assert run(root, settings, chat, watch, seconds=0.0) == [] and chat.calls == []


def test_a_model_error_is_one_note_and_no_candidate(project: tuple[Path, Settings]) -> None:
    root, settings = project
    refused = LLMError("the endpoint declined", kind="refused", hint="try another model",
                       usage=Usage(40, 2))  # fmt: skip
    chat = FakeChat([calls(FIX), refused])
    watch = Watch()
    assert run(root, settings, chat, watch) == []
    assert watch.notes == ["agent: the endpoint declined (try another model)"]
    assert watch.spending.tokens == 150 + 42
    assert (root / "calc" / "ops.py").read_text(encoding="utf-8") == BUGGY
