"""Manual consent: nothing is promoted until a person runs `theseus approve`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from theseus.cli.main import main
from theseus.config import GateSettings
from theseus.gate.consent import AutoConsent, ManualConsent
from theseus.gate.decide import Gate, GateResult
from theseus.lineage import git
from theseus.lineage.archive import Archive, IllegalTransition
from theseus.lineage.state import open_audit

from .conftest import verified_candidate


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        result = main(list(args))
        code = result if isinstance(result, int) else 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def theseus_subprocess(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    code = "from theseus.cli.main import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args, "-p", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "USER": "carol"},
    )


def gate_in_thread(gate: Gate, candidate_id: str) -> tuple[threading.Thread, list[GateResult]]:
    results: list[GateResult] = []
    thread = threading.Thread(target=lambda: results.append(gate.decide(candidate_id)), daemon=True)
    thread.start()
    return thread, results


def test_nothing_is_promoted_until_approve(project: Path, archive: Archive) -> None:
    c = verified_candidate(project, archive)
    audit = open_audit(project)
    gate = Gate(GateSettings(consent="manual"), archive, audit, ManualConsent(archive, 60, 0.05))
    thread, results = gate_in_thread(gate, c.id)
    head_before = git.head(project)
    time.sleep(0.5)  # the gate is polling; nothing may happen meanwhile
    assert thread.is_alive() and results == []
    assert archive.status(c.id) == "verified" and git.head(project) == head_before
    done = theseus_subprocess(project, "approve", c.id[:7], "--why", "looks right")
    assert done.returncode == 0, done.stderr
    thread.join(30)
    [result] = results
    assert result.approved and result.channel == "manual" and result.actor == "carol"
    assert archive.status(c.id) == "approved"
    # only now may the cycle promote
    git.promote(project, archive.get(c.id))
    archive.set_status(c.id, "promoted", "deployed", actor="deploy")
    assert git.versions(project)[0].candidate_id == c.id
    kinds = [(r["kind"], r["actor"]) for r in audit.records()]
    assert ("manual", "carol") in kinds and ("gate", "carol") in kinds
    assert audit.verify().ok


def test_reject_from_the_cli_ends_the_wait(project: Path, archive: Archive) -> None:
    c = verified_candidate(project, archive)
    gate = Gate(GateSettings(consent="manual"), archive, None, ManualConsent(archive, 60, 0.05))
    thread, results = gate_in_thread(gate, c.id)
    done = theseus_subprocess(project, "reject", c.id, "--why", "touches billing")
    assert done.returncode == 0, done.stderr
    thread.join(30)
    assert not results[0].approved and "touches billing" in results[0].reasons[-1]
    assert archive.status(c.id) == "rejected"


def test_manual_timeout_rejects(project: Path, archive: Archive) -> None:
    c = verified_candidate(project, archive)
    gate = Gate(GateSettings(consent="manual"), archive, None, ManualConsent(archive, 0.2, 0.05))
    result = gate.decide(c.id)
    assert not result.approved and "timed out" in result.reasons[-1]
    assert archive.status(c.id) == "rejected"
    assert archive.history(c.id)[-1].actor == "theseus"


def test_pause_interrupts_the_wait_and_keeps_the_candidate(project: Path, archive: Archive) -> None:
    c = verified_candidate(project, archive)
    paused = threading.Event()
    consent = ManualConsent(archive, 60, 0.05, interrupted=paused.is_set)
    thread, results = gate_in_thread(Gate(GateSettings(), archive, None, consent), c.id)
    paused.set()
    thread.join(30)
    assert not results[0].approved and not results[0].decided
    assert archive.status(c.id) == "verified"


def test_thresholds_reject_before_consent(project: Path, archive: Archive) -> None:
    scores = {"replay_fixed": 1, "replay_total": 3, "regressions": []}
    c = verified_candidate(project, archive, scores)
    audit = open_audit(project)
    result = Gate(GateSettings(consent="manual"), archive, audit).decide(c.id)
    assert not result.approved and result.channel == "thresholds"
    assert archive.status(c.id) == "rejected"
    assert audit.records()[-1]["payload"]["thresholds"]["approved"] is False


def test_auto_consent_approves_and_audits(project: Path, archive: Archive) -> None:
    c = verified_candidate(project, archive)
    audit = open_audit(project)
    result = Gate(GateSettings(), archive, audit).decide(c.id)
    assert result.approved and result.channel == "auto"
    assert isinstance(Gate(GateSettings(), archive).consent, AutoConsent)
    assert archive.status(c.id) == "approved"
    record = audit.records()[-1]
    assert record["kind"] == "gate" and record["payload"]["candidate_id"] == c.id


def test_only_verified_candidates_reach_the_gate(project: Path, archive: Archive) -> None:
    c = verified_candidate(project, archive)
    archive.set_status(c.id, "rejected", "no")
    with pytest.raises(IllegalTransition, match="only verified candidates"):
        Gate(GateSettings(), archive).decide(c.id)


def test_cli_approve_errors_are_one_line(
    project: Path, archive: Archive, capsys: pytest.CaptureFixture[str]
) -> None:
    c = verified_candidate(project, archive)
    code, out, _ = run_cli(capsys, "approve", c.id, "-p", str(project), "--json")
    assert code == 0 and json.loads(out) == {
        "candidate_id": c.id,
        "status": "approved",
        "actor": "alice",
        "reason": "approved by a person",
    }
    code, _, err = run_cli(capsys, "approve", c.id, "-p", str(project))
    assert code == 2 and "is approved; it cannot become approved" in err
    code, _, err = run_cli(capsys, "approve", "0000000", "-p", str(project))
    assert code == 4 and "no candidate" in err
    code, _, err = run_cli(capsys, "reject", c.id, "-p", str(project))
    assert code == 2 and "--why" in err


def test_cli_pause_resume(
    project: Path, archive: Archive, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "pause", "--why", "incident", "-p", str(project), "--json")
    data = json.loads(out)
    assert code == 0 and data["paused"] and data["changed"] and data["actor"] == "alice"
    assert (project / ".theseus" / "PAUSED").is_file()
    code, out, _ = run_cli(capsys, "pause", "-p", str(project))
    assert code == 0 and "already paused" in out
    code, out, _ = run_cli(capsys, "resume", "-p", str(project), "--json")
    assert code == 0 and json.loads(out) == {"paused": False, "changed": True}
    assert not (project / ".theseus" / "PAUSED").exists()
    code, out, _ = run_cli(capsys, "resume", "-p", str(project))
    assert code == 0 and "was not paused" in out
    records = open_audit(project).records()
    assert [(r["kind"], r["actor"], r["payload"]["reason"]) for r in records] == [
        ("pause", "alice", "incident"),
        ("resume", "alice", "resumed"),
    ]
