"""Workspaces with real git (worktrees at older commits, concurrency) and copy mode."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from theseus.change import WORKING_TREE, Candidate, Workspace, current_commit, make_diff
from theseus.errors import PatchError

Git = Callable[..., str]


def worktrees(root: Path) -> list[str]:
    out = subprocess.run(
        ["git", "worktree", "list", "--porcelain"], cwd=root, capture_output=True, text=True
    ).stdout
    return [line for line in out.splitlines() if line.startswith("worktree ")]


def test_worktree_at_an_older_commit(repo: Path, run_git: Git) -> None:
    first = current_commit(repo)
    (repo / "agent/skills.py").write_text("def refund(amount):\n    return amount * 1000\n")
    run_git(repo, "commit", "-qam", "second")
    assert current_commit(repo) != first
    with Workspace.create(repo, first) as ws:
        assert ws.mode == "worktree" and ws.base_commit == first
        assert (ws.path / "agent/skills.py").read_text().endswith("amount * 100\n")
        diff = make_diff(ws.path, {"agent/skills.py": "def refund(amount):\n    return 1\n"})
        ws.apply(Candidate.create(base_commit=first, diff=diff, proposer="test"))
        ws.write({"agent/extra.py": "X = 1\n", "agent/core.py": None})
        (ws.path / "agent/__pycache__").mkdir()
        (ws.path / "agent/__pycache__/x.pyc").write_bytes(b"\0")
        assert ws.changed_files() == ["agent/core.py", "agent/extra.py", "agent/skills.py"]
        produced = ws.diff()
        path = ws.path
    assert not path.exists()
    assert len(worktrees(repo)) == 1  # pruned: only the main tree is left
    # the live tree is untouched, and the workspace diff reproduces the change on the base
    assert (repo / "agent/skills.py").read_text().endswith("amount * 1000\n")
    with Workspace.create(repo, first) as again:
        again.apply(produced)
        assert (again.path / "agent/skills.py").read_text().endswith("return 1\n")
        assert not (again.path / "agent/core.py").exists()


def test_candidate_on_another_base_is_refused(repo: Path) -> None:
    candidate = Candidate.create(base_commit="0" * 40, diff="", proposer="t")
    with Workspace.create(repo) as ws, pytest.raises(PatchError, match="based on 000000000000"):
        ws.apply(candidate)


def test_unknown_commit_is_a_clear_error(repo: Path) -> None:
    with pytest.raises(PatchError, match="base commit 'deadbeef' does not exist"):
        Workspace.create(repo, "deadbeef")
    assert len(worktrees(repo)) == 1


def test_several_workspaces_at_once(repo: Path) -> None:
    """Concurrent worktree add/remove/prune must not trip over each other's half-made records."""

    def one(n: int) -> str:
        with Workspace.create(repo) as ws:
            ws.write({"agent/skills.py": f"N = {n}\n"})
            return ws.diff()

    with ThreadPoolExecutor(8) as pool:
        diffs = list(pool.map(one, range(64)))
    assert all(f"+N = {n}" in diff for n, diff in enumerate(diffs))
    assert len(worktrees(repo)) == 1


def test_project_in_a_subfolder_of_the_repo(tmp_path: Path, run_git: Git) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj/a.py").write_text("a = 1\n")
    (tmp_path / "other.txt").write_text("x\n")
    run_git(tmp_path, "init", "-q")
    run_git(tmp_path, "add", ".")
    run_git(tmp_path, "commit", "-qm", "i")
    with Workspace.create(tmp_path / "proj") as ws:
        assert (ws.path / "a.py").read_text() == "a = 1\n"
        ws.apply("--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n")
        assert ws.changed_files() == ["a.py"]


def test_copy_mode_without_git(project: Path) -> None:
    (project / ".venv").mkdir()
    (project / ".venv/big").write_text("skip me")
    (project / ".theseus").mkdir()
    assert current_commit(project) == WORKING_TREE
    with Workspace.create(project) as ws:
        assert ws.mode == "copy" and ws.base_commit == WORKING_TREE
        assert not (ws.path / ".venv").exists() and not (ws.path / ".theseus").exists()
        ws.apply(
            "--- a/agent/skills.py\n+++ b/agent/skills.py\n@@ -2 +2 @@\n"
            "-    return amount * 100\n+    return amount\n"
        )
        (ws.path / "agent/new.py").write_text("Y = 2\n")
        (ws.path / "tests/test_agent.py").unlink()
        assert ws.changed_files() == ["agent/new.py", "agent/skills.py", "tests/test_agent.py"]
        diff = ws.diff()
        tmp = ws.tmpdir
    assert not tmp.exists()
    assert "+    return amount\n" in diff and "deleted file mode" in diff
    assert (project / "agent/skills.py").read_text().endswith("amount * 100\n")


def test_copy_mode_refuses_a_commit(project: Path) -> None:
    with pytest.raises(PatchError, match="not a git repository"):
        Workspace.create(project, "abc123")


def test_repo_without_commits(project: Path, run_git: Git) -> None:
    run_git(project, "init", "-q")
    with pytest.raises(PatchError, match="no commits yet"):
        current_commit(project)


def test_closed_workspace_refuses_use_and_close_twice_is_fine(repo: Path) -> None:
    ws = Workspace.create(repo)
    ws.close()
    ws.close()
    assert ws.closed
    with pytest.raises(PatchError, match="already closed"):
        ws.diff()


def test_missing_project_folder(tmp_path: Path) -> None:
    with pytest.raises(PatchError, match="does not exist"):
        Workspace.create(tmp_path / "nope")


def test_failing_apply_leaves_workspace_clean(repo: Path) -> None:
    with Workspace.create(repo) as ws:
        with pytest.raises(PatchError, match="does not apply"):
            ws.apply("--- a/agent/skills.py\n+++ b/agent/skills.py\n@@ -1 +1 @@\n-nope\n+x\n")
        assert ws.diff() == ""
