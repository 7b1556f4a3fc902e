"""Fixtures for lineage tests: real git repositories and project folders under tmp_path."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest

SOURCE = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n"


def run_git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config: Theseus must supply an identity itself."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig-empty"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("THESEUS_AUDIT_KEY", raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A project with theseus.toml and one committed module, agent/calc.py."""
    root = tmp_path / "project"
    (root / "agent").mkdir(parents=True)
    (root / "agent" / "calc.py").write_text(SOURCE)
    (root / "theseus.toml").write_text(
        '[agent]\npackage = "agent"\nentrypoint = "agent.calc:add"\n[paths]\nmutable = ["agent/*.py"]\n'
    )
    run_git(root, "init", "-q", "-b", "main")
    run_git(root, "add", "-A")
    run_git(root, "-c", "user.name=Dev", "-c", "user.email=dev@x", "commit", "-qm", "initial")
    return root


def make_diff(old: str, new: str, path: str = "agent/calc.py") -> str:
    """A unified diff as proposers write it (3 lines of context)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(lines)


ADD_FIX = make_diff(SOURCE, SOURCE.replace("return a - b", "return a + b"))
MUL_FIX = make_diff(SOURCE, SOURCE.replace("return a + b", "return a * b"))
