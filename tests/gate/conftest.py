"""Fixtures for gate tests: a real project (git + theseus.toml), its archive and audit log."""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest

from theseus.change.candidate import Candidate
from theseus.lineage import git
from theseus.lineage.archive import Archive
from theseus.lineage.state import open_archive

SOURCE = "def add(a, b):\n    return a - b\n"
FIX = "".join(
    difflib.unified_diff(
        SOURCE.splitlines(keepends=True),
        SOURCE.replace("a - b", "a + b").splitlines(keepends=True),
        "a/agent/calc.py",
        "b/agent/calc.py",
    )
)


def run_git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig-empty"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("THESEUS_AUDIT_KEY", raising=False)
    monkeypatch.setenv("USER", "alice")


@pytest.fixture
def project(tmp_path: Path) -> Path:
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


@pytest.fixture
def archive(project: Path) -> Archive:
    return open_archive(project)


SCORES = {
    "replay_fixed": 3,
    "replay_total": 3,
    "regressions": [],
    "new_failures": [],
    "tests_passed": 4,
}


def verified_candidate(
    project: Path, archive: Archive, scores: dict[str, object] | None = None
) -> Candidate:
    """A candidate that passed verification, stored as the cycle would store it."""
    c = Candidate.create(
        base_commit=git.head(project), diff=FIX, proposer="repair", signature="ValueError:add"
    )
    archive.add(c)
    archive.record_scores(c.id, dict(scores or SCORES))
    return archive.set_status(c.id, "verified", "fixes 3/3", actor="verify")
