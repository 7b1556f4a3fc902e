"""Recovery after a kill: nothing a killed run started keeps running or stays behind.

Seen before: a timed-out demo test left its ``theseus serve`` (and workers) serving an hour
later; a killed ``evolve`` left worktrees in the temp folder and in git's records; failure
groups of worker crashes, which the replay cannot reproduce, made every later ``evolve``
exit 2.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from theseus._scratch import OWNER_FILE, make_scratch, reap_stale
from theseus.change import Workspace, reap_stale_workspaces
from theseus.config import load_settings
from theseus.demo import free_port, prepare_workdir
from theseus.evidence import ErrorInfo, EvidenceStore, TaskRecord

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    return state != "Z"


def _wait_gone(pid: int, limit: float = 90.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.2)
    return False


def test_a_killed_demo_leaves_no_service_running(tmp_path: Path) -> None:
    folder, _ = prepare_workdir(tmp_path / "demo", port=free_port())
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from theseus.demo import LiveService
            service = LiveService.start(Path({str(folder)!r}), {free_port()})
            print(service.process.pid, flush=True)
            time.sleep(600)
        """)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert parent.stdout is not None
    serve_pid = int(parent.stdout.readline())
    assert _alive(serve_pid)
    parent.send_signal(signal.SIGKILL)  # as a test's timeout kills a demo
    parent.wait()
    assert _wait_gone(serve_pid), "theseus serve outlived the demo that started it"


def test_scratch_folders_of_a_dead_process_are_reaped(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            from pathlib import Path
            from theseus._scratch import make_scratch
            print(make_scratch("theseus-ws-", Path({str(tmp_path)!r})))
        """)],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    left = Path(dead.stdout.strip())
    mine = make_scratch("theseus-ws-", tmp_path)
    foreign = tmp_path / "theseus-ws-unmarked"
    foreign.mkdir()
    assert left.is_dir() and (left / OWNER_FILE).is_file()
    assert reap_stale(tmp_path) == 1
    assert not left.exists()
    assert mine.is_dir(), "a live owner's folder is kept"
    assert foreign.is_dir(), "a folder without a marker is not ours to remove"


def test_a_killed_run_leaves_no_worktree_after_the_next_start(tmp_path: Path) -> None:
    folder, _ = prepare_workdir(tmp_path / "project")
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            import os
            from pathlib import Path
            from theseus.change import Workspace
            ws = Workspace.create(Path({str(folder)!r}))
            print(ws.tmpdir, flush=True)
            os._exit(0)  # no cleanup runs, as with SIGKILL
        """)],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    left = Path(killed.stdout.strip())
    listed = subprocess.run(["git", "worktree", "list"], cwd=folder, capture_output=True, text=True)
    assert left.is_dir() and str(left) in listed.stdout
    reap_stale_workspaces(folder)
    listed = subprocess.run(["git", "worktree", "list"], cwd=folder, capture_output=True, text=True)
    assert not left.exists() and str(left) not in listed.stdout
    with Workspace.create(folder) as ws:  # and workspaces still work afterwards
        assert ws.path.is_dir()


def test_a_worker_crash_group_does_not_make_evolve_fail(tmp_path: Path) -> None:
    folder, commit = prepare_workdir(tmp_path / "project")
    settings = load_settings(folder / "theseus.toml")
    crash = TaskRecord(
        id="c" * 32,
        function=settings.agent.entrypoint,
        session_id="s1",
        input={"args": [{"text": "hello"}, {}], "kwargs": {}},
        error=ErrorInfo(type="theseus.runtime.WorkerCrashed", message="worker exited with 9"),
        duration_ms=1.0,
        code_version=commit,
        started_at=time.time(),
    )
    with EvidenceStore(settings.evidence_path) as store:
        store.add_task(crash)
    done = subprocess.run(
        [sys.executable, "-m", "theseus.cli.main", "evolve", "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    outcomes = json.loads(done.stdout)["cycles"][0]["outcomes"]
    assert [o["outcome"] for o in outcomes] == ["no_candidate"]
    assert "nothing to repair" in outcomes[0]["reason"]
