"""Candidate code cannot fill the host's disk through its workspace: as root each workspace
is a tmpfs limited in bytes and in files, and removing it leaves no mount behind."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from theseus._scratch import Quota, quota_support
from theseus.change import Workspace
from theseus.verify.sandbox import Limits, run_sandboxed
from theseus.verify.sandbox.backends import probe

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not probe("bwrap").available, reason=probe("bwrap").reason),
    pytest.mark.skipif(not quota_support()[0], reason=quota_support()[1]),
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text("print('hi')\n")
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)  # fmt: skip
    return root


def _mounted(path: Path) -> bool:
    return any(
        line.split()[1] == str(path) for line in Path("/proc/self/mounts").read_text().splitlines()
    )


def _attack(ws: Workspace, code: str) -> str:
    result = run_sandboxed(
        ["python", "-c", textwrap.dedent(code)], ws.path, Limits(timeout=60), backend="bwrap"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_bytes_past_the_quota_are_refused(repo: Path) -> None:
    with Workspace.create(repo, quota=Quota(bytes=8 << 20, files=1000)) as ws:
        seen = _attack(ws, """
            try:
                with open("fill", "wb") as handle:
                    for _ in range(64):
                        handle.write(b"x" * (1 << 20))
                        handle.flush()
                print("FILLED")
            except OSError as exc:
                print(exc.errno)
        """)  # fmt: skip
        assert seen == "28"  # ENOSPC: the host's disk never saw the rest


def test_files_past_the_quota_are_refused(repo: Path) -> None:
    with Workspace.create(repo, quota=Quota(bytes=64 << 20, files=300)) as ws:
        seen = _attack(ws, """
            made = 0
            try:
                for i in range(5000):
                    open(f"f{i}", "w").close()
                    made += 1
                print("ALL")
            except OSError as exc:
                print(exc.errno, made < 300)
        """)  # fmt: skip
        assert seen == "28 True"


def test_a_removed_workspace_leaves_no_mount(repo: Path) -> None:
    ws = Workspace.create(repo, quota=Quota(bytes=8 << 20, files=1000))
    where = ws.tmpdir
    assert _mounted(where) and (ws.path / "app.py").is_file()
    ws.close()
    assert not _mounted(where) and not where.exists()
    assert os.path.isdir(repo / ".git")
