"""A real evolution cycle on a copy of the example agent: real traffic, sandbox, git, audit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from theseus.config import load_settings
from theseus.demo import curate_workdir, prepare_workdir, record_in_process
from theseus.evolve import evolve, run_cycle
from theseus.evolve.proposals import REGRESSION_DIR, oracle_folder
from theseus.lineage.state import open_archive, open_audit


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder, _ = prepare_workdir(tmp_path_factory.mktemp("agent") / "repo")
    record_in_process(folder, sessions=60, seed=7)
    return folder


@pytest.mark.e2e
def test_a_cycle_promotes_a_seeded_bug_fix_with_its_regression_test(agent: Path) -> None:
    settings = load_settings(agent / "theseus.toml")
    batches = curate_workdir(agent)
    target = next(b for b in batches if b.title.startswith("IndexError"))
    before = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"], cwd=agent, capture_output=True, text=True
    ).stdout.strip()

    report = run_cycle(settings, only={target.signature})

    [outcome] = report.outcomes
    assert outcome.outcome == "promoted", outcome.reason
    assert outcome.commit and report.head_commit == outcome.commit
    # no service runs for this copy: the cycle says so, per fix, instead of "live": null
    assert outcome.live.startswith("committed only: no live service"), outcome.live
    assert "if not orders" in outcome.diff
    count = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"], cwd=agent, capture_output=True, text=True
    ).stdout.strip()
    assert int(count) == int(before) + 1
    regression = list((agent / REGRESSION_DIR).glob("test_*.py"))
    assert len(regression) == 1
    # The regression test is part of the project's suite now, and passes on the fix.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(regression[0])],
        cwd=agent, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-500:]
    assert (
        subprocess.run(
            ["git", "status", "--porcelain"], cwd=agent, capture_output=True, text=True
        ).stdout
        == ""
    )

    archive = open_archive(agent)
    try:
        assert archive.get(outcome.candidate_id or "").status == "promoted"
    finally:
        archive.close()
    audit = open_audit(agent)
    kinds = [r["kind"] for r in audit.records()]
    for kind in ("cycle", "proposal", "policy", "verification", "gate", "deploy"):
        assert kind in kinds
    assert audit.verify().ok

    # The next cycle knows the signature is fixed and does not work on it again.
    [again] = evolve(settings, cycles=1, until_clean=True, signatures=0)
    assert again.outcomes == [] or all(o.outcome != "promoted" for o in again.outcomes)
    second = run_cycle(settings, only={target.signature})
    assert [o.outcome for o in second.outcomes] == ["fixed_before"]


def test_the_oracle_command_runs_the_project_test_folder(agent: Path) -> None:
    settings = load_settings(agent / "theseus.toml")
    assert oracle_folder(settings, agent) == "tests"


def test_a_paused_project_does_no_work(agent: Path) -> None:
    settings = load_settings(agent / "theseus.toml")
    paused = agent / ".theseus" / "PAUSED"
    paused.write_text('{"actor": "test", "reason": "test"}\n')
    try:
        report = run_cycle(settings)
    finally:
        paused.unlink()
    assert report.stopped == "paused" and report.outcomes == []


@pytest.fixture(scope="module")
def agent_with_fixes_branch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder, _ = prepare_workdir(tmp_path_factory.mktemp("agent-branch") / "repo")
    with (folder / "theseus.toml").open("a") as config:
        config.write('\n[lineage]\nbranch = "theseus/fixes"\n')
    for args in (["add", "theseus.toml"], ["commit", "-q", "-m", "fixes on their own branch"]):
        subprocess.run(
            ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=folder, check=True
        )
    record_in_process(folder, sessions=60, seed=7)
    return folder


def _git_out(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.e2e
def test_with_lineage_branch_fixes_go_on_their_own_branch(agent_with_fixes_branch: Path) -> None:
    agent = agent_with_fixes_branch
    settings = load_settings(agent / "theseus.toml")
    head, tree = _git_out(agent, "rev-parse", "HEAD"), _git_out(agent, "status", "--porcelain")
    target = next(b for b in curate_workdir(agent) if b.title.startswith("IndexError"))

    [outcome] = run_cycle(settings, only={target.signature}).outcomes

    assert outcome.outcome == "promoted", outcome.reason
    assert _git_out(agent, "rev-parse", "refs/heads/theseus/fixes") == outcome.commit
    assert _git_out(agent, "rev-parse", "HEAD") == head  # the checked-out branch stays
    assert _git_out(agent, "status", "--porcelain") == tree
    assert not list((agent / REGRESSION_DIR).glob("test_*.py"))  # not in the working tree
    # the next cycle builds on the fixes branch, not on the checked-out one
    assert run_cycle(settings, only={"000000000000"}).base_commit == outcome.commit


@pytest.mark.e2e
def test_a_parked_signature_is_skipped_with_who_parked_it(agent: Path) -> None:
    from theseus.evidence.store import EvidenceStore

    settings = load_settings(agent / "theseus.toml")
    target = next(b for b in curate_workdir(agent) if b.title.startswith("KeyError"))
    with EvidenceStore(settings.evidence_path) as store:
        store.mark_signature(target.signature, "parked", "ops", "fixed by hand next sprint")
    try:
        [outcome] = run_cycle(settings, only={target.signature}).outcomes
    finally:
        with EvidenceStore(settings.evidence_path) as store:
            store.unmark_signature(target.signature)
    assert outcome.outcome == "parked"
    assert outcome.reason.startswith("parked by ops: fixed by hand next sprint")
