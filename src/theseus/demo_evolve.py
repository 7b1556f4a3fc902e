"""The demo's second half: evolve the recorded failures away and show what changed.

Runs on the demo's copy of the example agent after its first traffic has been recorded:
a deliberately bad candidate (it adds ``import subprocess``) goes through verification and
is rejected by policy before anything runs; evolution cycles then fix what the repair
engine can within a time budget, one git commit per fix; the same traffic is played
again against the evolved code and the failures by signature are compared.

What this does not do yet: serve the agent live and hot-swap each fix in while traffic
continues. Promotion here is commit-only, so no request can be dropped by a swap; the
report says ``"served_live": false`` rather than pretending otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from theseus.change import Candidate, current_commit, make_diff
from theseus.config import Settings, load_settings
from theseus.evidence.curator import curate
from theseus.evidence.store import EvidenceStore
from theseus.evolve import CycleReport, SignatureOutcome, evolve
from theseus.lineage import git
from theseus.lineage.state import open_archive, open_audit
from theseus.verify.pipeline import store_verification, verify_candidate

BAD_FILE = "support_agent/skills/units.py"


@dataclass
class EvolutionResult:
    """What the evolution half of the demo did."""

    cycles: list[CycleReport] = field(default_factory=list)
    bad_candidate: dict[str, Any] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    audit_verified: bool = False
    audit_records: int = 0

    @property
    def fixes(self) -> list[SignatureOutcome]:
        return [o for r in self.cycles for o in r.promoted]

    def as_json(self) -> dict[str, Any]:
        return {
            "fixed": len(self.fixes),
            "fixes": [
                {
                    "signature": o.signature,
                    "title": o.title,
                    "commit": o.commit,
                    "candidate": o.candidate_id,
                    "diff": o.diff,
                    "seconds": o.seconds,
                }
                for o in self.fixes
            ],
            "not_fixed": [
                {"signature": o.signature, "title": o.title, "outcome": o.outcome}
                for r in self.cycles
                for o in r.outcomes
                if o.outcome != "promoted"
            ],
            "bad_candidate": self.bad_candidate,
            "failures_before": self.before,
            "failures_after": self.after,
            "versions": self.versions,
            "served_live": False,
            "dropped_requests": 0,
            "audit_verified": self.audit_verified,
            "audit_records": self.audit_records,
        }


def catch_bad_candidate(settings: Settings, root: Path) -> dict[str, Any]:
    """Propose a candidate that shells out, verify it, and show that policy rejects it."""
    text = (root / BAD_FILE).read_text(encoding="utf-8")
    bad = "import subprocess\n" + text.replace(
        '    """``amount`` of ``source`` in ``target``',
        '    subprocess.run(["curl", "https://example.invalid"])\n'
        '    """``amount`` of ``source`` in ``target``',
        1,
    )
    candidate = Candidate.create(
        base_commit=current_commit(root),
        diff=make_diff(root, {BAD_FILE: bad}),
        proposer="demo",
        rationale="a deliberately bad candidate: it shells out to the network",
    )
    archive, audit = open_archive(root), open_audit(root)
    try:
        archive.add(candidate)
        audit.append("proposal", {"candidate": candidate.id, "proposer": "demo"})
        verification = verify_candidate(candidate, None, settings, root)
        store_verification(archive, verification)
        audit.append(
            "verification",
            {"candidate": candidate.id, "status": verification.status,
             "violations": verification.violations},
        )  # fmt: skip
    finally:
        archive.close()
    return {
        "candidate": candidate.id,
        "status": verification.status,
        "violations": verification.violations,
        "diff": candidate.diff,
    }


def failures_by_signature(settings: Settings, since: float | None = None) -> dict[str, int]:
    with EvidenceStore(settings.evidence_path) as store:
        return {b.signature: b.count for b in curate(store, settings, since=since)}


def run_evolution(
    folder: Path,
    replay_traffic: Callable[[], object],
    *,
    cycles: int = 2,
    seconds: float = 150.0,
    progress: Callable[[str], None] | None = None,
) -> EvolutionResult:
    """Catch a bad candidate, evolve for up to ``seconds``, replay the traffic, compare."""
    base = load_settings(folder / "theseus.toml")
    # A bounded search per signature, so one hard failure cannot eat the whole demo.
    repair = base.propose.repair.model_copy(update={"max_seconds": min(40.0, seconds)})
    settings = base.model_copy(
        update={
            "budget": base.budget.model_copy(update={"cycle_seconds": seconds}),
            "propose": base.propose.model_copy(update={"repair": repair}),
        }
    )
    say = progress or (lambda _: None)
    result = EvolutionResult(before=failures_by_signature(settings))
    say("checking a deliberately bad candidate")
    result.bad_candidate = catch_bad_candidate(settings, folder)
    deadline = time.monotonic() + seconds
    for number in range(1, cycles + 1):
        left = deadline - time.monotonic()
        if left < 10:
            break
        budgeted = settings.model_copy(
            update={"budget": settings.budget.model_copy(update={"cycle_seconds": left})}
        )
        [report] = evolve(budgeted, cycles=1, progress=say)
        report.cycle = number
        result.cycles.append(report)
        if not report.open_signatures:
            break
    say("playing the same traffic against the evolved agent")
    started = time.time()
    replay_traffic()
    result.after = failures_by_signature(settings, since=started)
    result.versions = [v.as_dict() for v in git.versions(folder)]
    audit = open_audit(folder)
    verdict = audit.verify()
    result.audit_verified, result.audit_records = verdict.ok, verdict.records
    return result
