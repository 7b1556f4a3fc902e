"""The demo's second half: evolve the recorded failures away while the agent keeps serving.

Runs on the demo's copy of the example agent after its first traffic has been recorded
through the live service. The example's deliberately bad candidates (its ``demo.json``) are
checked first, as real candidates: for the support agent, one adds ``import subprocess``
and is rejected by policy before anything runs; one silences the currency crash by
answering with made-up rates and fails verification, because the replayed customers were
owed a different answer. Evolution cycles then fix what the repair
engine can within a time budget, one git commit per fix, each hot-swapped into the live
service and watched while a lighter stream of customer traffic keeps flowing; that traffic
counts every request the service failed to answer. At the end the first traffic is played
again against the evolved service and the failures by signature are compared.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from theseus.change import Candidate, current_commit, make_diff
from theseus.config import Settings, load_settings
from theseus.demo.live import BackgroundTraffic, LiveService, traffic_argv
from theseus.demo.manifest import BadCandidate, DemoManifest, load_manifest
from theseus.evidence import FailureBatch
from theseus.evolve import CycleReport, SignatureOutcome, evolve
from theseus.evolve.batches import current_batches
from theseus.lineage import open_archive, open_audit, versions
from theseus.verify import store_verification, verify_candidate

BACKGROUND_RATE = 30.0  # requests per second while evolving: real load, CPU left to evolve


@dataclass
class EvolutionResult:
    """What the evolution half of the demo did."""

    cycles: list[CycleReport] = field(default_factory=list)
    bad_candidates: list[dict[str, Any]] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    live: dict[str, Any] = field(default_factory=dict)
    dropped: int = 0
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
                    "deploy": o.deploy.as_json() if o.deploy is not None else None,
                }
                for o in self.fixes
            ],
            "not_fixed": [
                {
                    "signature": o.signature,
                    "title": o.title,
                    "outcome": o.outcome,
                    "reason": o.reason,
                }
                for r in self.cycles
                for o in r.outcomes
                if o.outcome != "promoted"
            ],
            "bad_candidates": self.bad_candidates,
            "failures_before": self.before,
            "failures_after": self.after,
            "versions": self.versions,
            "served_live": bool(self.live),
            "live": self.live,
            "dropped_requests": self.dropped,
            "audit_verified": self.audit_verified,
            "audit_records": self.audit_records,
        }


def _check_bad(
    settings: Settings,
    root: Path,
    bad: BadCandidate,
    new_text: str,
    batch: FailureBatch | None,
) -> dict[str, Any]:
    """Archive, audit and verify a hand-made candidate; what verification made of it."""
    candidate = Candidate.create(
        base_commit=current_commit(root),
        diff=make_diff(root, {bad.file: new_text}),
        proposer="demo",
        signature=batch.signature if batch else None,
        rationale=f"a deliberately bad candidate: {bad.why}",
    )
    archive, audit = open_archive(root), open_audit(root)
    try:
        archive.add(candidate)
        audit.append("proposal", {"candidate": candidate.id, "proposer": "demo", "why": bad.why})
        verification = verify_candidate(candidate, batch, settings, root)
        store_verification(archive, verification)
        audit.append(
            "verification",
            {"candidate": candidate.id, "status": verification.status,
             "reason": verification.reason, "violations": verification.violations},
        )  # fmt: skip
    finally:
        archive.close()
    caught = verification.status == ("rejected_policy" if bad.stopped_by == "policy" else "failed")
    return {
        "candidate": candidate.id,
        "why": bad.why,
        "status": verification.status,
        "expected": bad.stopped_by,
        "caught": caught,
        "reason": verification.reason,
        "violations": verification.violations,
        "problems": sorted(set(verification.score.case_problems.values()))
        if verification.score is not None
        else [],
        "diff": candidate.diff,
    }


def catch_bad_candidates(
    settings: Settings, root: Path, manifest: DemoManifest
) -> list[dict[str, Any]]:
    """The example's deliberately bad candidates (``demo.json``), each checked as a real one.

    The support agent's: one shells out (policy stops it before anything runs), one silences
    the currency crash with a made-up rate of 1 (no exception any more, so a crash-only check
    would pass it, but the replayed customers were owed "unsupported currency"). The travel
    agent's changes the model prompt: replay has no recorded answer (``unrecorded_call``).
    """
    batches = current_batches(settings)
    found: list[dict[str, Any]] = []
    for bad in manifest.bad_candidates:
        text = (root / bad.file).read_text(encoding="utf-8")
        new_text = bad.prepend + text
        if any(r.old not in new_text for r in bad.replace):
            continue  # the example changed under the manifest: nothing to show
        for replacement in bad.replace:
            new_text = new_text.replace(replacement.old, replacement.new, 1)
        batch = next(
            (
                b
                for b in batches
                if (bad.for_location and b.location and bad.for_location in b.location)
                or (bad.for_title and bad.for_title in b.title)
            ),
            None,
        )
        if bad.stopped_by == "verification" and batch is None:
            continue  # its failures were not recorded this run
        found.append(_check_bad(settings, root, bad, new_text, batch))
    return found


def failures_by_signature(settings: Settings, since: float | None = None) -> dict[str, int]:
    return {b.signature: b.count for b in current_batches(settings, since=since)}


def _demo_settings(folder: Path, seconds: float) -> Settings:
    base = load_settings(folder / "theseus.toml")
    # A bounded search per signature, so one hard failure cannot eat the whole demo.
    repair = base.propose.repair.model_copy(update={"max_seconds": min(40.0, seconds)})
    return base.model_copy(
        update={
            "budget": base.budget.model_copy(update={"cycle_seconds": seconds}),
            "propose": base.propose.model_copy(update={"repair": repair}),
        }
    )


def run_evolution(
    folder: Path,
    service: LiveService,
    replay_traffic: Callable[[], dict[str, Any]],
    *,
    seed: int = 7,
    cycles: int = 3,
    seconds: float = 135.0,
    progress: Callable[[str], None] | None = None,
) -> EvolutionResult:
    """Catch bad candidates, evolve under live traffic for up to ``seconds``, replay, compare."""
    settings = _demo_settings(folder, seconds)
    say = progress or (lambda _: None)
    result = EvolutionResult(before=failures_by_signature(settings))
    manifest = load_manifest(folder)
    say(f"checking {len(manifest.bad_candidates)} deliberately bad candidates")
    result.bad_candidates = catch_bad_candidates(settings, folder, manifest)
    argv = traffic_argv(service.url, seed=seed + 1, seconds=seconds + 120.0,
                        concurrency=2, rate=BACKGROUND_RATE)  # fmt: skip
    background = BackgroundTraffic(folder, argv).start()
    deadline = time.monotonic() + seconds
    try:
        for number in range(1, cycles + 1):
            left = deadline - time.monotonic()
            if left < 10:
                break
            budgeted = settings.model_copy(
                update={"budget": settings.budget.model_copy(update={"cycle_seconds": left})}
            )
            [report] = evolve(budgeted, cycles=1, progress=say, service=service.url)
            report.cycle = number
            result.cycles.append(report)
            if not report.open_signatures:
                break
    finally:
        during = background.stop()
    say("playing the first traffic again against the evolved service")
    started = time.time()
    again = replay_traffic()
    result.after = failures_by_signature(settings, since=started)
    history = service.get("/versions").get("history", [])
    result.live = {
        "service": service.url,
        "requests_while_evolving": int(during.get("requests", 0)),
        "dropped_while_evolving": int(during.get("dropped", 0)),
        "versions_that_answered": during.get("versions", {}),
        "swaps": sum(1 for h in history if h.get("event") == "cut_over"),
        "rollbacks": sum(1 for h in history if h.get("event") == "rollback"),
        "replay_requests": int(again.get("requests", 0)),
    }
    result.dropped = int(during.get("dropped", 0)) + int(again.get("dropped", 0))
    result.versions = [v.as_dict() for v in versions(folder)]
    verdict = open_audit(folder).verify()
    result.audit_verified, result.audit_records = verdict.ok, verdict.records
    return result
