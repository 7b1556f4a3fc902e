"""The example support agent: it loads, its own suite passes, and its seeded bugs are real.

"Real" means: the shipped tests pass on the buggy code, realistic traffic exposes every bug,
and each documented one-line fix removes exactly its bug's failures (the traffic's oracle then
finds nothing else wrong). Each variant runs in a copy of the example, in a subprocess, so
the repository's own example is never modified.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from theseus.config import load_callable, load_settings
from theseus.paths import rules_from

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_agent"
BUGS: list[dict[str, str]] = json.loads((EXAMPLE / "seeded_bugs.json").read_text())
SESSIONS = 150


def _copy(tmp_path: Path, name: str = "agent") -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__", ".theseus"))
    return target


def _apply(folder: Path, bugs: list[dict[str, str]]) -> None:
    for bug in bugs:
        path = folder / bug["file"]
        text = path.read_text()
        assert text.count(bug["original"]) == 1, bug["id"]
        path.write_text(text.replace(bug["original"], bug["fixed"]))


def _env() -> dict[str, str]:
    env = dict(os.environ, THESEUS_RECORD="0", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    return env


def _traffic(folder: Path, sessions: int = SESSIONS, seed: int = 7) -> dict[str, Any]:
    argv = [sys.executable, "-m", "traffic", "--sessions", str(sessions), "--seed", str(seed)]
    done = subprocess.run(
        [*argv, "--json", "--no-report"],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _function_source(text: str, name: str) -> str:
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return "".join(text.splitlines(keepends=True)[node.lineno - 1 : node.end_lineno])
    raise AssertionError(f"no function {name}")


def _symptom(bug: dict[str, str]) -> str:
    symptom = bug["symptom"]
    return symptom if symptom.startswith("wrong_") else f"error:{symptom}"


def test_config_loads_and_splits_mutable_from_protected() -> None:
    settings = load_settings(EXAMPLE / "theseus.toml")
    rules = rules_from(settings.root, settings.paths.mutable, settings.paths.protected)
    assert set(rules.mutable_files()) == {
        "support_agent/router.py",
        "support_agent/skills/__init__.py",
        "support_agent/skills/dates.py",
        "support_agent/skills/db.py",
        "support_agent/skills/orders.py",
        "support_agent/skills/refunds.py",
        "support_agent/skills/units.py",
    }
    for protected in ["support_agent/app.py", "support_agent/replies.py", "tests/test_skills.py"]:
        assert rules.is_protected(protected)
    assert rules.is_protected("traffic/oracle.py")


def test_entrypoint_and_migrate_import() -> None:
    settings = load_settings(EXAMPLE / "theseus.toml")
    handle = load_callable(settings.agent.entrypoint, settings.root, settings.agent.python_path)
    assert settings.agent.migrate is not None
    migrate = load_callable(settings.agent.migrate, settings.root, settings.agent.python_path)
    assert callable(handle) and callable(migrate)


def test_seeded_bugs_manifest_is_sound() -> None:
    settings = load_settings(EXAMPLE / "theseus.toml")
    rules = rules_from(settings.root, settings.paths.mutable, settings.paths.protected)
    assert len(BUGS) >= 5
    kinds = {bug["kind"] for bug in BUGS}
    for needed in ["wrong operator", "off-by-one", "missing guard", "wrong variable"]:
        assert needed in kinds
    assert "misordered steps" in kinds
    for bug in BUGS:
        text = (EXAMPLE / bug["file"]).read_text()
        assert rules.is_mutable(bug["file"]), bug["id"]
        assert text.count(bug["original"]) == 1, bug["id"]
        body = _function_source(text, bug["function"])
        assert bug["original"] in body, f"{bug['id']}: the bug is not in {bug['function']}"
        assert bug["fixed"] not in body, f"{bug['id']}: the fix is already in the shipped code"
        diff = difflib.ndiff(bug["original"].splitlines(), bug["fixed"].splitlines())
        changed = [line for line in diff if line[:2] in {"+ ", "- "}]
        assert 1 <= len(changed) <= 3, f"{bug['id']}: the fix should be a small edit"
    assert {_symptom(bug) for bug in BUGS}.__len__() == len(BUGS), "one symptom per bug"


@pytest.mark.e2e
def test_own_suite_passes_on_the_shipped_buggy_code(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    command = load_settings(folder / "theseus.toml").tests.command.split()
    command[0] = sys.executable
    done = subprocess.run(command, cwd=folder, env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]


@pytest.mark.e2e
def test_traffic_exposes_every_seeded_bug(tmp_path: Path) -> None:
    outcome = _traffic(_copy(tmp_path))
    assert outcome["exceptions"] > 0 and outcome["wrong_answers"] > 0
    assert set(outcome["failures"]) == {_symptom(bug) for bug in BUGS}
    for bug in BUGS:
        assert outcome["failures"][_symptom(bug)] >= 3, bug["id"]


@pytest.mark.e2e
def test_fixed_agent_passes_its_suite_and_all_traffic(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _apply(folder, BUGS)
    outcome = _traffic(folder, sessions=300, seed=11)
    assert outcome["exceptions"] == 0 and outcome["wrong_answers"] == 0, outcome["failures"]
    assert outcome["checked"] > 0.8 * outcome["requests"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:]


@pytest.mark.e2e
@pytest.mark.parametrize("bug", BUGS, ids=[bug["id"] for bug in BUGS])
def test_each_bug_alone_shows_only_its_symptom(tmp_path: Path, bug: dict[str, str]) -> None:
    """With every *other* fix applied, the traffic finds exactly this bug's failures: the bug
    is real, its trigger is in the traffic, and the other fixes are right."""
    folder = _copy(tmp_path)
    _apply(folder, [other for other in BUGS if other is not bug])
    outcome = _traffic(folder)
    assert set(outcome["failures"]) == {_symptom(bug)}, outcome["failures"]
