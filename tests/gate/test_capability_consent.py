"""A candidate that reaches new capabilities (policy.capability_changes = "consent") goes to
a person with its capability diff, even when every other candidate is approved by itself."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from theseus.config import GateSettings
from theseus.gate.decide import Gate
from theseus.lineage.archive import Archive
from theseus.lineage.state import open_audit

from .conftest import SCORES, verified_candidate

NEW_REACH = {
    **SCORES,
    "needs_consent": True,
    "capabilities": [
        {"kind": "import", "name": "socket", "file": "agent/calc.py", "line": 1,
         "verdict": "consent", "reason": "beyond policy.allowed_imports"},
        {"kind": "import", "name": "math", "file": "agent/calc.py", "line": 2,
         "verdict": "allowed", "reason": "in policy.allowed_imports"},
    ],
}  # fmt: skip


def test_automatic_consent_still_approves_a_change_with_no_new_reach(
    project: Path, archive: Archive
) -> None:
    c = verified_candidate(project, archive)
    result = Gate(GateSettings(consent="auto", manual_timeout=5), archive).decide(c.id)
    assert result.approved and result.channel == "auto"


def test_new_capabilities_wait_for_a_person_and_show_the_diff(
    project: Path, archive: Archive
) -> None:
    c = verified_candidate(project, archive, NEW_REACH)
    gate = Gate(GateSettings(consent="auto", manual_timeout=30), archive, open_audit(project))
    gate.capability_consent.poll = 0.05  # type: ignore[attr-defined]
    results = []
    thread = threading.Thread(target=lambda: results.append(gate.decide(c.id)), daemon=True)
    thread.start()
    time.sleep(0.3)
    assert archive.status(c.id) == "verified", "nothing is approved while a person decides"
    archive.set_status(c.id, "approved", "reviewed the socket use", actor="carol")
    thread.join(10)
    [result] = results
    assert result.approved and result.channel == "manual" and result.actor == "carol"
    assert any("agent/calc.py:1 socket" in reason for reason in result.reasons)
    assert not any("math" in reason for reason in result.reasons)
    gate_record = [r for r in open_audit(project).records() if r["kind"] == "gate"][-1]
    assert any("socket" in reason for reason in gate_record["payload"]["reasons"])


def test_no_answer_means_no_new_capabilities(project: Path, archive: Archive) -> None:
    c = verified_candidate(project, archive, NEW_REACH)
    gate = Gate(GateSettings(consent="auto", manual_timeout=0.3), archive)
    result = gate.decide(c.id)
    assert not result.approved and archive.status(c.id) == "rejected"
    assert Gate.capability_diff(NEW_REACH) == ["agent/calc.py:1 socket"]
