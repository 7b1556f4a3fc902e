"""A tiny agent repository in real git, one commit per behaviour the runtime must handle."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from theseus.config import Settings, load_settings

TOML = """\
[agent]
name = "counter"
package = "agent"
entrypoint = "agent.app:handle"
{migrate}
[paths]
mutable = ["agent/*.py"]

[runtime]
workers_per_version = 2
health_window = {window}
health_min_samples = 10
restart_intensity = 3
restart_period = 10
call_timeout = 5
"""

V1 = """
import os, time
import theseus

@theseus.task(idempotent={idem})
def handle(message, state):
    if message == "boom":
        raise ValueError("boom on purpose")
    if message == "die":
        os._exit(7)
    if isinstance(message, dict) and "sleep" in message:
        time.sleep(message["sleep"])
    if message == "poison":
        state["poison"] = True
    state["count"] = state.get("count", 0) + 1
    return {{"count": state["count"], "version": "v1", "pid": os.getpid()}}
"""

V2 = """
import os, time
import theseus

def migrate(state, from_version, to_version):
    if state.get("poison"):
        raise RuntimeError("cannot migrate a poisoned state")
    state = dict(state)
    if "count" in state:
        state["n"] = state.pop("count")
    state["migrations"] = state.get("migrations", 0) + 1
    return state

@theseus.task(idempotent=True)
def handle(message, state):
    if isinstance(message, dict) and "sleep" in message:
        time.sleep(message["sleep"])
    state["n"] = state.get("n", 0) + 1
    return {"count": state["n"], "version": "v2", "migrations": state.get("migrations", 0),
            "pid": os.getpid()}
"""

CRASHER = V2.replace('state["n"] = state.get("n", 0) + 1', "os._exit(9)")
RAISER = V2.replace('state["n"] = state.get("n", 0) + 1', 'raise KeyError("broken on purpose")')
SLOW = V2.replace(
    'state["n"] = state.get("n", 0) + 1', 'time.sleep(0.08); state["n"] = state.get("n", 0) + 1'
)
UNLOADABLE = "import no_such_module_anywhere\n"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def _commit(root: Path, app: str, toml: str, message: str) -> str:
    (root / "agent" / "app.py").write_text(app)
    (root / "theseus.toml").write_text(toml)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD")


def make_repo(root: Path, *, window: float = 2.0, idempotent: bool = True) -> dict[str, str]:
    """Create the repo; returns commit ids by name. HEAD is left at v1's content."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "agent").mkdir()
    (root / "agent" / "__init__.py").write_text("")
    (root / ".gitignore").write_text(".theseus/\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    plain = TOML.format(migrate="", window=window)
    with_migrate = TOML.format(migrate='migrate = "agent.app:migrate"', window=window)
    commits = {
        "v1": _commit(root, V1.format(idem=idempotent), plain, "v1"),
        "v2": _commit(root, V2, with_migrate, "v2: new state shape + migrate"),
        "crasher": _commit(root, CRASHER, with_migrate, "crashes the worker"),
        "raiser": _commit(root, RAISER, with_migrate, "raises"),
        "slow": _commit(root, SLOW, with_migrate, "slow"),
        "unloadable": _commit(root, UNLOADABLE, plain, "cannot import"),
        "v1_non_idempotent": _commit(root, V1.format(idem=False), plain, "v1, not idempotent"),
    }
    _commit(root, V1.format(idem=idempotent), plain, "back to v1 content")
    return commits


def fresh_settings(root: Path, state: Path, **runtime: Any) -> Settings:
    """The repo's settings with a private state folder (.theseus) and runtime overrides."""

    class PerTest(Settings):
        @property
        def state_dir(self) -> Path:
            return state

    data = load_settings(root).model_dump()
    data["evidence"]["store"] = str(state / "evidence.db")
    data["runtime"].update(runtime)
    return PerTest.model_validate({**data, "root": root})
