"""One evolution cycle: curate -> guard -> propose -> verify -> gate -> promote -> deploy.

Every step that decides something is written to the audit log; every candidate goes into the
archive with its scores and status; a promoted fix is a git commit carrying the fixed
evidence as a permanent regression test. The kill switch is honoured between steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from theseus.change import check_policy, current_commit
from theseus.config import Settings
from theseus.evidence.curator import curate
from theseus.evidence.records import FailureBatch
from theseus.evidence.store import EvidenceStore
from theseus.evolve import live
from theseus.evolve.proposals import propose, proposers, regression_test, seconds_for
from theseus.evolve.report import CycleReport, SignatureOutcome
from theseus.gate.attempts import AttemptGuard, evidence_key
from theseus.gate.breaker import CircuitBreaker
from theseus.gate.budgets import Budget as CycleBudget
from theseus.gate.consent import make_consent
from theseus.gate.decide import Gate
from theseus.gate.regression import RegressionWatch
from theseus.gate.switch import KillSwitch
from theseus.lineage import git
from theseus.lineage.archive import Archive
from theseus.lineage.audit import AuditLog
from theseus.lineage.state import open_archive, open_audit, state_dir
from theseus.propose.base import Attempt, Proposer, Rejected
from theseus.propose.base import Budget as ProposalBudget
from theseus.verify.pipeline import store_verification, verify_candidate

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class _Stages:
    """The project's guards and records, opened once per cycle."""

    def __init__(self, settings: Settings, root: Path) -> None:
        self.archive: Archive = open_archive(root)
        self.audit: AuditLog = open_audit(root)
        self.switch = KillSwitch(state_dir(root), self.audit)
        self.guard = AttemptGuard(self.archive, settings.budget.attempts_per_signature)
        self.breaker = CircuitBreaker(
            self.archive.db, settings.budget.max_rollbacks_per_hour, self.switch
        )
        self.watch = RegressionWatch(self.archive.db)
        consent = make_consent(settings.gate, self.archive, self.switch.is_paused)
        self.gate = Gate(
            settings.gate, self.archive, self.audit, consent, interrupted=self.switch.is_paused
        )

    def close(self) -> None:
        self.archive.close()


def run_cycle(
    settings: Settings,
    *,
    cycle: int = 1,
    progress: Progress = _quiet,
    signatures: int | None = None,
    service: str | None = None,
    only: Collection[str] | None = None,
) -> CycleReport:
    """Run one cycle over the project's current failure batches (highest score first).

    ``signatures`` caps how many batches the cycle works on; ``service`` is the live
    service's URL (default: found from ``[runtime]`` when one answers, else commit only);
    ``only`` restricts the cycle to those signatures.
    """
    root = settings.root.resolve()
    started = time.monotonic()
    report = CycleReport(cycle=cycle, base_commit=current_commit(root))
    stages = _Stages(settings, root)
    try:
        with EvidenceStore(settings.evidence_path) as store:
            batches = curate(store, settings)
        if only is not None:
            batches = [b for b in batches if b.signature in only]
        batches = work_order(batches)
        url = service if service is not None else live.service_url(settings)
        budget = CycleBudget.from_settings(settings.budget)
        active = proposers(settings, report.notes.append)
        for note in report.notes:
            progress(note)
        stages.audit.append(
            "cycle", {"event": "start", "cycle": cycle, "batches": len(batches), "live": url}
        )
        worked = 0
        for batch in batches:
            if stages.switch.is_paused():
                report.stopped = "paused"
                break
            if budget.exhausted:
                report.stopped = f"budget: {budget.reason}"
                break
            if signatures is not None and worked >= signatures:
                break
            outcome = _skip_reason(stages, batch)
            if outcome is None:
                worked += 1
                progress(f"{batch.signature} {batch.title[:60]}: proposing")
                outcome = _work_on(batch, settings, root, stages, budget, active, url, progress)
                report.notes.extend(outcome.notes)
            report.outcomes.append(outcome)
        report.head_commit = current_commit(root)
        report.seconds = round(time.monotonic() - started, 3)
        report.tokens, report.cost_usd = budget.tokens, round(budget.cost_usd, 6)
        stages.audit.append(
            "cycle",
            {
                "event": "end",
                "cycle": cycle,
                "promoted": [o.candidate_id for o in report.promoted],
                "stopped": report.stopped,
                "seconds": report.seconds,
                "tokens": report.tokens,
                "cost_usd": report.cost_usd,
            },
        )
    finally:
        stages.close()
    return report


def work_order(batches: list[FailureBatch]) -> list[FailureBatch]:
    """The order a cycle works in: crashes traced into mutable code first, then the rest,
    each group by the curator's frequency x severity score.

    A trace into mutable code localises the fault to a few lines, so such a batch is usually
    fixed in seconds; a wrong answer needs spectrum localisation over many more candidates.
    Within a time-boxed cycle this order promotes the most fixes; what is left waits for the
    next cycle, never dropped.
    """
    return sorted(batches, key=lambda b: (b.location is None, -b.score))


def _skip_reason(stages: _Stages, batch: FailureBatch) -> SignatureOutcome | None:
    """An outcome when the batch must not be worked on this cycle, else None."""

    def skip(outcome: str, reason: str) -> SignatureOutcome:
        return SignatureOutcome(batch.signature, batch.title, batch.count, outcome, reason)

    flag = stages.watch.observe(batch.signature, batch.last_seen)
    if flag is not None:
        stages.audit.append("guard", {"signature": batch.signature, "returned": flag.reason})
        if not flag.may_refix:
            return skip("returned", flag.reason)
    elif stages.watch.is_fixed(batch.signature):
        return skip("fixed_before", "fixed by an earlier promotion (old evidence)")
    verdict = stages.guard.check(batch.signature, evidence_key=evidence_key(batch.task_ids))
    if not verdict.allowed:
        return skip("parked", verdict.reason)
    return None


def _attempts(stages: _Stages, signature: str) -> list[Attempt]:
    """Earlier candidates for ``signature``, with why each ended as it did (for proposers
    that can learn from them, such as a model told not to repeat a failed change)."""
    tried = []
    for c in stages.archive.list(signature=signature):
        history = stages.archive.history(c.id)
        reason = history[-1].reason if history else ""
        key = str(c.meta.get("attempt_key", c.id))
        tried.append(Attempt(key=key, outcome=c.status, reason=reason, diff=c.diff))
    return tried


def _work_on(
    batch: FailureBatch,
    settings: Settings,
    root: Path,
    stages: _Stages,
    budget: CycleBudget,
    active: list[Proposer],
    url: str | None,
    progress: Progress,
) -> SignatureOutcome:
    began = time.monotonic()
    out = SignatureOutcome(batch.signature, batch.title, batch.count, "no_candidate")
    base = current_commit(root)
    key = evidence_key(batch.task_ids)

    def note(line: str) -> None:
        out.notes.append(line)
        progress(f"{batch.signature}: {line}")

    def rejected(answer: Rejected) -> None:
        out.rejected += 1
        stages.audit.append(
            "proposal_rejected",
            {"signature": batch.signature, "proposer": answer.proposer, "reason": answer.reason,
             "excerpt": answer.excerpt[:400], "tokens": answer.tokens,
             "cost_usd": answer.cost_usd},
        )  # fmt: skip

    for proposer in active:
        if budget.exhausted:
            break
        tokens_before, cost_before = budget.tokens, budget.cost_usd
        seconds = min(seconds_for(proposer, settings), budget.remaining_seconds or 1e9)
        pbudget = ProposalBudget.from_seconds(seconds, settings.propose.repair.max_candidates)
        candidates = propose(
            batch, settings, root, base, pbudget, _attempts(stages, batch.signature), proposer,
            spending=budget, on_rejected=rejected, notes=note,
        )  # fmt: skip
        budget.charge(candidates=len(candidates))
        out.tokens += budget.tokens - tokens_before
        out.cost_usd = round(out.cost_usd + budget.cost_usd - cost_before, 6)
        for candidate in candidates:
            out.candidates += 1
            candidate = stages.archive.add(candidate)
            stages.audit.append(
                "proposal",
                {"candidate": candidate.id, "signature": batch.signature,
                 "proposer": candidate.proposer, "rationale": candidate.rationale,
                 **_spent(candidate.meta)},
            )  # fmt: skip
            outcome = _decide(candidate.id, batch, settings, root, stages, url, progress, out)
            stages.guard.record(
                batch.signature, outcome, candidate_id=candidate.id, evidence_key=key
            )
            if outcome == "promoted":
                out.proposer = candidate.proposer
                out.seconds = round(time.monotonic() - began, 3)
                return out
    if out.candidates == 0:
        stages.guard.record(batch.signature, "no_candidate", evidence_key=key)
        out.reason = "no proposer found a change that passes the replayed evidence"
        if budget.exhausted:
            out.reason = str(budget.reason)
    out.seconds = round(time.monotonic() - began, 3)
    return out


def _spent(meta: dict[str, object]) -> dict[str, object]:
    """The model accounting a proposer put on a candidate (tokens in/out, cost, model)."""
    keys = ("model", "input_tokens", "output_tokens", "cost_usd", "steps")
    return {k: meta[k] for k in keys if k in meta}


def _decide(
    candidate_id: str,
    batch: FailureBatch,
    settings: Settings,
    root: Path,
    stages: _Stages,
    url: str | None,
    progress: Progress,
    out: SignatureOutcome,
) -> str:
    """Policy, verification, gate, promotion and deploy for one candidate; its final status."""
    candidate = stages.archive.get(candidate_id)
    out.candidate_id, out.diff = candidate.id, candidate.diff
    policy = check_policy(candidate, settings, root)
    stages.audit.append("policy", {"candidate": candidate.id, **policy.to_dict()})
    progress(f"{batch.signature}: verifying {candidate.id[:12]}")
    verification = verify_candidate(candidate, batch, settings, root)
    store_verification(stages.archive, verification)
    stages.audit.append(
        "verification",
        {"candidate": candidate.id, "status": verification.status,
         "reason": verification.reason, "duration": round(verification.duration, 3)},
    )  # fmt: skip
    out.outcome, out.reason = verification.status, verification.reason
    if not verification.ok:
        return verification.status
    result = stages.gate.decide(candidate.id, verification.scores())
    if not result.approved:
        out.outcome, out.reason = "rejected", "; ".join(result.reasons)
        return stages.archive.status(candidate.id)
    path, text = regression_test(batch, settings)
    commit = git.promote(root, candidate, extra_files={path: text}, scores=verification.scores())
    stages.archive.set_status(candidate.id, "promoted", f"commit {commit[:12]}", actor="theseus")
    stages.watch.mark_fixed(batch.signature, candidate.id)
    stages.audit.append(
        "deploy",
        {"candidate": candidate.id, "commit": commit, "regression_test": path, "live": url},
    )
    out.outcome, out.commit, out.reason = "promoted", commit, f"regression test {path}"
    progress(f"{batch.signature}: promoted as {commit[:12]}")
    if url is not None:
        verdict = live.deploy_and_watch(url, commit, health_window=settings.runtime.health_window)
        out.deploy = verdict
        stages.audit.append("health", {"candidate": candidate.id, **verdict})
        if verdict["verdict"] == "rolled_back":
            why = str(verdict.get("reason", "health watch"))
            stages.archive.set_status(candidate.id, "rolled_back", why, actor="runtime")
            record: dict[str, Any] = {"candidate": candidate.id, "commit": commit, "reason": why}
            try:  # the branch must match what is served again
                record["revert"] = git.revert(root, commit, why)
            except git.GitError as exc:
                record["revert_error"] = exc.line()
                progress(f"{batch.signature}: {exc.line()}")
            stages.audit.append("rollback", record)
            stages.breaker.record_rollback(candidate.id, "health watch")
            stages.watch.forget(batch.signature)
            out.outcome, out.reason = "rolled_back", why
            return "rolled_back"
        stages.watch.went_live(batch.signature)
    return "promoted"
