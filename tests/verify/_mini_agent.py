"""A tiny agent project in a real git repository, for the verification tests.

Loaded by path from the test modules (the suite uses --import-mode=importlib). The agent has
one seeded bug (``add`` subtracts), a second skill with its own passing test (``greet``), a
protected entrypoint and a test suite, which is all verification needs to show a fix, a
regression and a policy rejection.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from theseus.config import Settings, load_settings
from theseus.evidence.records import FailureBatch, Oracle, ReplayCase

TOML = """\
[agent]
name = "mini"
package = "mini"
entrypoint = "mini.app:handle"

[paths]
mutable = ["mini/skills/*.py"]
protected = ["mini/app.py", "tests/*.py"]

[tests]
command = "python -m pytest -q -x -p no:cacheprovider tests"
timeout = 120

[replay]
case_timeout = 5

[verify]
workers = 2
timeout = 180
"""

FILES = {
    "mini/__init__.py": "",
    "mini/skills/__init__.py": "",
    "mini/app.py": '''\
"""Entry point: route a message to a skill."""
import theseus

from mini.skills import calc, greet


@theseus.task
def handle(message, state):
    state["calls"] = state.get("calls", 0) + 1
    if message["skill"] == "add":
        return {"result": calc.add(message["a"], message["b"])}
    if message["skill"] == "greet":
        return {"reply": greet.greet(message["name"])}
    return {"error": "unknown skill"}
''',
    "mini/skills/calc.py": '''\
"""Arithmetic skill."""


def add(a, b):
    return a - b


def double(x):
    return x * 2
''',
    "mini/skills/greet.py": '''\
"""Greeting skill."""


def greet(name):
    return f"Hello, {name}!"
''',
    "tests/test_skills.py": """\
from mini.skills import calc, greet


def test_greet():
    assert greet.greet("Ada") == "Hello, Ada!"


def test_double():
    assert calc.double(4) == 8


def test_add_zero():
    assert calc.add(0, 0) == 0
""",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


@dataclass
class MiniProject:
    root: Path

    @property
    def head(self) -> str:
        return git(self.root, "rev-parse", "HEAD").strip()

    def settings(self) -> Settings:
        return load_settings(self.root)

    def diff(self, edits: dict[str, tuple[str, str]]) -> str:
        """A real ``git diff`` of the given (old, new) text replacements, then reverted."""
        for path, (old, new) in edits.items():
            target = self.root / path
            text = target.read_text()
            assert old in text, f"{old!r} not in {path}"
            target.write_text(text.replace(old, new, 1))
        try:
            return git(self.root, "diff")
        finally:
            git(self.root, "checkout", "--", ".")


def make_project(root: Path) -> MiniProject:
    root.mkdir(parents=True, exist_ok=True)
    (root / "theseus.toml").write_text(TOML)
    for path, text in FILES.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (root / ".gitignore").write_text(".theseus/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "base")
    return MiniProject(root)


def case(task_id: str, a: int, b: int, *, kind: str = "expected") -> ReplayCase:
    return ReplayCase(
        task_id=task_id,
        function="mini.app:handle",
        input={"args": [{"skill": "add", "a": a, "b": b}, {}], "kwargs": {}},
        oracle=Oracle(kind=kind, expected={"result": a + b} if kind == "expected" else None),  # type: ignore[arg-type]
    )


def add_batch(cases: list[ReplayCase] | None = None) -> FailureBatch:
    cases = cases if cases is not None else [case("task-1", 2, 3), case("task-2", 10, 5)]
    now = time.time()
    return FailureBatch(
        signature="semantic:wrong_answer:mini/skills/calc.py:add",
        kind="semantic",
        title="wrong answer in mini/skills/calc.py:add",
        count=len(cases),
        severity="high",
        score=3.0 * len(cases),
        first_seen=now - 60,
        last_seen=now,
        task_ids=[c.task_id for c in cases],
        cases=cases,
    )


FIX = {"mini/skills/calc.py": ("return a - b", "return a + b")}
BREAK_GREET = {
    "mini/skills/calc.py": ("return a - b", "return a + b"),
    "mini/skills/greet.py": ('f"Hello, {name}!"', 'f"Hi {name}"'),
}
SUBPROCESS = {
    "mini/skills/calc.py": (
        '"""Arithmetic skill."""\n',
        '"""Arithmetic skill."""\nimport subprocess\n',
    )
}
PROTECTED = {"mini/app.py": ('return {"error": "unknown skill"}', 'return {"error": "no skill"}')}
NO_FIX = {"mini/skills/calc.py": ("return x * 2", "return x + x")}
