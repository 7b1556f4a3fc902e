"""`theseus demo` end to end: a real copy, real git, real traffic in a subprocess, real SQLite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from theseus.demo import DemoError, find_example, prepare_workdir

THESEUS = [sys.executable, "-m", "theseus.cli.main"]


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("THESEUS_RECORD", None)
    env.pop("THESEUS_EVIDENCE_DB", None)
    # A generous outer limit only: the test checks outcomes, and a busy machine is slow.
    return subprocess.run(
        [*THESEUS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.e2e
def test_demo_records_and_curates_at_least_five_signatures(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    done = _run(["demo", "--workdir", str(workdir), "--sessions", "150", "--no-evolve", "--json"])
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["workdir"] == str(workdir.resolve())
    assert result["requests"] > 150
    assert result["exceptions"] > 0 and result["wrong_answers"] > 0
    signatures = result["signatures"]
    assert len({s["signature"] for s in signatures}) >= 5
    assert {s["kind"] for s in signatures} == {"exception", "semantic"}
    assert (workdir / ".theseus" / "evidence.db").is_file()

    log = subprocess.run(
        ["git", "log", "--format=%H"], cwd=workdir, capture_output=True, text=True, check=True
    )
    assert log.stdout.split() == [result["commit"]]
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=workdir, capture_output=True, text=True, check=True
    )
    assert status.stdout == "", "the demo must leave the agent's tree clean"

    listed = _run(["evidence", "list", "--json"], cwd=workdir)
    assert listed.returncode == 0, listed.stderr
    batches = json.loads(listed.stdout)
    assert len({b["signature"] for b in batches}) >= 5
    assert {b["signature"] for b in batches} == {s["signature"] for s in signatures}


@pytest.mark.e2e
def test_demo_for_people_prints_a_table_and_what_it_did(tmp_path: Path) -> None:
    done = _run(["demo", "--workdir", str(tmp_path / "d"), "--sessions", "40", "--no-evolve"])
    assert done.returncode == 0, done.stderr
    assert "Failures by signature" in done.stdout
    assert "What happened" in done.stdout and "--no-evolve" in done.stdout


@pytest.mark.e2e
def test_demo_without_workdir_uses_a_new_temporary_folder() -> None:
    done = _run(["demo", "--sessions", "20", "--no-evolve", "--json"])
    assert done.returncode == 0, done.stderr
    folder = Path(json.loads(done.stdout)["workdir"])
    try:
        assert folder.name.startswith("theseus-demo-")
        assert (folder / "theseus.toml").is_file() and (folder / ".git").is_dir()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_non_empty_workdir_is_refused_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "something.txt").write_text("keep me")
    done = _run(["demo", "--workdir", str(tmp_path), "--json"])
    assert done.returncode == 2
    assert "not an empty folder" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert (tmp_path / "something.txt").read_text() == "keep me"


def test_workdir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(DemoError, match="not an empty folder"):
        prepare_workdir(target)


def test_bad_sessions_is_a_usage_error() -> None:
    done = _run(["demo", "--sessions", "0"])
    assert done.returncode == 2
    assert "--sessions" in done.stderr


def test_missing_example_is_one_clear_error() -> None:
    with pytest.raises(DemoError, match="no bundled example 'no_such_agent'") as missing:
        find_example("no_such_agent")
    assert "support_agent" in missing.value.line()


def test_example_is_found_in_the_source_tree() -> None:
    assert (find_example() / "support_agent" / "app.py").is_file()


def test_prepare_makes_one_commit_with_the_example(tmp_path: Path) -> None:
    folder, commit = prepare_workdir(tmp_path / "w")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=folder, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "theseus.toml" in tracked and "support_agent/skills/refunds.py" in tracked
    assert not any("__pycache__" in path for path in tracked)
    assert len(commit) == 40


@pytest.mark.e2e
def test_demo_evolves_and_reports_fixes_bad_candidate_and_audit(tmp_path: Path) -> None:
    workdir = tmp_path / "evo"
    done = _run(
        ["demo", "--workdir", str(workdir), "--sessions", "60", "--seconds", "45", "--json"]
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["dropped_requests"] == 0 and result["served_live"] is True
    assert result["audit_verified"] is True
    policy, verification = result["bad_candidates"]
    assert policy["status"] == "rejected_policy"
    assert any("subprocess" in v or "process" in v for v in policy["violations"])
    assert verification["status"] == "failed" and "replay" in verification["reason"]
    live = result["live"]
    assert live["requests_while_evolving"] > 0 and live["dropped_while_evolving"] == 0
    # Every hot swap is accounted for: kept as a fix, or rolled back by the health watch with
    # the service's reason (under a loaded CI machine a latency check may call one worse).
    rolled_back = [o for o in result["not_fixed"] if o["outcome"] == "rolled_back"]
    assert live["swaps"] == result["fixed"] + len(rolled_back), result["not_fixed"]
    assert live["rollbacks"] == len(rolled_back) and all(o["reason"] for o in rolled_back)
    assert all(f["deploy"]["verdict"] == "healthy" for f in result["fixes"])
    assert isinstance(result["fixed"], int) and result["fixed"] == len(result["fixes"])
    assert set(result["failures_before"]) and isinstance(result["failures_after"], dict)
    log = subprocess.run(
        ["git", "log", "--format=%H"], cwd=workdir, capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(log) == 1 + result["fixed"] + 2 * len(rolled_back)  # a rollback is reverted
    verified = _run(["audit", "verify"], cwd=workdir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
