"""One evolution cycle: curate -> guard -> propose -> verify -> gate -> promote -> deploy.

Every step that decides something is written to the audit log; every candidate goes into the
archive with its scores and status; a promoted fix is a git commit carrying the fixed
evidence as a permanent regression test. The kill switch is honoured between steps.

:class:`Cycle` owns what one cycle opened (archive, audit log, guards, gate, budget,
proposers, the live service's URL) and walks each batch through its steps, each of which
returns a typed result: :meth:`Cycle.work_on` a :class:`SignatureOutcome`,
:meth:`Cycle.verify` a :class:`~theseus.verify.Verification` (policy checked once, inside
it), and its :class:`~theseus.evolve.landing.Landing` ``promote`` a :class:`Promotion` and
``deploy`` a :class:`~theseus.runtime.DeployVerdict`. A batch no proposer could fix is tried
once more at the end of the cycle when later fixes changed the code under it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from contextlib import closing

from theseus.change import (
    Candidate,
    CandidateStatus,
    current_commit,
    is_git_repo,
    reap_stale_workspaces,
)
from theseus.config import Settings
from theseus.errors import TheseusError
from theseus.evidence import EvidenceStore, FailureBatch, SignatureMark
from theseus.evolve.batches import current_batches, work_order
from theseus.evolve.landing import Landing, Promotion, live_line
from theseus.evolve.lookahead import Lookahead, Search, searches_ahead
from theseus.evolve.prefetch import BaselinePrefetch
from theseus.evolve.proposals import earlier_attempts, model_spending, propose
from theseus.evolve.report import CycleReport, SignatureOutcome, SignatureResult
from theseus.gate import (
    AttemptGuard,
    CircuitBreaker,
    CycleBudget,
    Gate,
    KillSwitch,
    RegressionWatch,
    evidence_key,
    make_consent,
)
from theseus.lineage import line_head, open_archive, open_audit, state_dir
from theseus.propose import (
    Proposer,
    Rejected,
    SearchBudget,
    build_proposers,
    search_seconds,
)
from theseus.runtime import find_service
from theseus.verify import Verification, store_verification, verify_candidate

__all__ = ["Cycle", "CycleProgress", "Promotion", "quiet", "run_cycle", "work_order"]

CycleProgress = Callable[[str], None]
"""Takes one line per step, for the person watching (``theseus evolve`` shows them)."""


def quiet(_: str) -> None:
    """A :data:`CycleProgress` that shows nothing."""
    return None


def run_cycle(
    settings: Settings,
    *,
    cycle: int = 1,
    progress: CycleProgress = quiet,
    signatures: int | None = None,
    service: str | None = None,
    only: Collection[str] | None = None,
    since: float | None = None,
) -> CycleReport:
    """Run one cycle over the project's current failure batches (highest score first).

    ``signatures`` caps how many batches the cycle works on; ``service`` is the live
    service's URL (default: found from ``[runtime]`` when one answers, else commit only);
    ``only`` restricts the cycle to those signatures, ``since`` to evidence from then on.
    """
    with closing(Cycle(settings, number=cycle, progress=progress, service=service)) as one:
        return one.run(signatures=signatures, only=only, since=since)


class Cycle:
    """One cycle over one project: opens its records and guards; :meth:`close` them after
    (``with contextlib.closing(Cycle(settings)) as cycle: cycle.run()``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        number: int = 1,
        progress: CycleProgress = quiet,
        service: str | None = None,
    ) -> None:
        self.settings = settings
        self.root = settings.root.resolve()
        reap_stale_workspaces(self.root)  # what a killed earlier run left behind
        self.number = number
        self.progress = progress
        self.archive = open_archive(self.root)
        self.audit = open_audit(self.root)
        self.switch = KillSwitch(state_dir(self.root), self.audit)
        self.guard = AttemptGuard(self.archive, settings.budget.attempts_per_signature)
        self.breaker = CircuitBreaker(
            self.archive.db, settings.budget.max_rollbacks_per_hour, self.switch
        )
        self.watch = RegressionWatch(self.archive.db)
        consent = make_consent(settings.gate, self.archive, self.switch.is_paused)
        self.gate = Gate(
            settings.gate, self.archive, self.audit, consent, interrupted=self.switch.is_paused
        )
        self.budget = CycleBudget.from_settings(settings.budget)
        self.report = CycleReport(cycle=number, base_commit=self.line_commit())
        self.service = find_service(settings, service)
        self.url = self.service.url
        self.proposers: list[Proposer] = build_proposers(settings, self.report.notes.append)
        self.prefetch = BaselinePrefetch(settings, self.root)
        self.lookahead = Lookahead()
        self.ahead = True  # whether a batch after this one will be worked (--signatures)
        self.upcoming: list[FailureBatch] = []  # the batches after the one being worked
        self.marks: dict[str, SignatureMark] = {}  # parks and forgets, read at each run
        self.landing = Landing(
            settings, self.root, self.archive, self.audit, self.watch, self.breaker, progress
        )

    def close(self) -> None:
        self.prefetch.join()
        self.lookahead.join()
        self.archive.close()

    # -- the cycle -------------------------------------------------------------------------

    def run(
        self,
        *,
        signatures: int | None = None,
        only: Collection[str] | None = None,
        since: float | None = None,
    ) -> CycleReport:
        """Curate (evidence from ``since`` on, when given), then work the batches in
        :func:`work_order` until done, paused or spent."""
        started = time.monotonic()
        report = self.report
        batches = current_batches(self.settings, since=since, note=report.notes.append)
        with EvidenceStore(self.settings.evidence_path) as store:
            self.marks = store.signature_marks()
        if only is not None:  # full signatures or unique starts of them
            batches = [b for b in batches if any(b.signature.startswith(s) for s in only)]
        batches = work_order(batches)
        for note in report.notes:
            self.progress(note)
        self.audit.append(
            "cycle",
            {"event": "start", "cycle": self.number, "batches": len(batches), "live": self.url,
             "live_how": self.service.how},
        )  # fmt: skip
        self.progress(f"live service: {self.service.describe()}")
        worked = 0
        unfixed: list[tuple[int, FailureBatch, str]] = []  # no candidate, and on which base
        for index, batch in enumerate(batches):
            self.upcoming = batches[index + 1 :]
            if (stop := self._stop_reason()) is not None and not self._found_ahead(batch, stop):
                report.stopped = stop
                break
            if signatures is not None and worked >= signatures:
                break
            self.ahead = signatures is None or worked + 1 < signatures
            outcome = self.skip_reason(batch)
            if outcome is None:
                worked += 1
                self.progress(f"{batch.signature} {batch.title[:60]}: proposing")
                base = self.line_commit()
                outcome = self.work_on(batch)
                report.notes.extend(outcome.notes)
                if outcome.outcome == "no_candidate":
                    unfixed.append((len(report.outcomes), batch, base))
            report.outcomes.append(outcome)
        self._try_again(unfixed)
        report.head_commit = self.line_commit()
        report.seconds = round(time.monotonic() - started, 3)
        report.tokens, report.cost_usd = self.budget.tokens, round(self.budget.cost_usd, 6)
        self.audit.append(
            "cycle",
            {
                "event": "end",
                "cycle": self.number,
                "promoted": [o.candidate_id for o in report.promoted],
                "stopped": report.stopped,
                "seconds": report.seconds,
                "tokens": report.tokens,
                "cost_usd": report.cost_usd,
            },
        )
        return report

    def _stop_reason(self) -> str | None:
        if self.switch.is_paused():
            return "paused"
        if self.budget.exhausted:
            return f"budget: {self.budget.reason}"
        return None

    def _found_ahead(self, batch: FailureBatch, stop: str) -> bool:
        """Whether to work ``batch`` although the cycle's budget is spent: its candidates
        were already found during the last health watch, so only verifying them is left."""
        if not stop.startswith("budget") or not self.lookahead.ready(
            batch.signature, self.line_commit()
        ):
            return False
        self.progress(f"{batch.signature}: {stop}, but a fix was found ahead: verifying it")
        return True

    def _try_again(self, unfixed: list[tuple[int, FailureBatch, str]]) -> None:
        """Once more, on the new code, each batch no proposer could fix before a later fix
        was promoted: a case can fail for two reasons (a crash on a path that also has a
        wrong answer), and then only the second fix makes the first findable."""
        self.upcoming = []
        for position, batch, base in unfixed:
            if self.report.stopped or self._stop_reason() is not None:
                self.report.stopped = self.report.stopped or self._stop_reason() or ""
                return
            head = self.line_commit()
            if head == base or self.skip_reason(batch) is not None:
                continue
            self.progress(f"{batch.signature}: trying again on {head[:12]}, after later fixes")
            again = self.work_on(batch)
            again.notes.insert(0, f"no fix on {base[:12]}; tried again on {head[:12]}")
            self.report.notes.extend(again.notes)
            self.report.outcomes[position] = again

    def line_commit(self) -> str:
        """What the next fix builds on: HEAD, or the tip of ``[lineage] branch``."""
        if self.settings.lineage.branch is None or not is_git_repo(self.root):
            return current_commit(self.root)
        return line_head(self.root, self.settings.lineage.branch)

    def skip_reason(self, batch: FailureBatch) -> SignatureOutcome | None:
        """An outcome when the batch must not be worked on this cycle, else None."""

        def skip(outcome: SignatureResult, reason: str) -> SignatureOutcome:
            return SignatureOutcome(batch.signature, batch.title, batch.count, outcome, reason)

        mark = self.marks.get(batch.signature)
        if mark is not None and mark.mark == "parked":
            why = f": {mark.reason}" if mark.reason else ""
            return skip("parked", f"parked by {mark.actor}{why} (`theseus evidence unpark`)")
        flag = self.watch.observe(batch.signature, batch.last_seen)
        if flag is not None:
            self.audit.append("guard", {"signature": batch.signature, "returned": flag.reason})
            if not flag.may_refix:
                return skip("returned", flag.reason)
        elif self.watch.is_fixed(batch.signature):
            return skip("fixed_before", "fixed by an earlier promotion (old evidence)")
        verdict = self.guard.check(batch.signature, evidence_key=evidence_key(batch.task_ids))
        if not verdict.allowed:
            return skip("parked", verdict.reason)
        return None

    # -- one batch ---------------------------------------------------------------------------

    def work_on(self, batch: FailureBatch) -> SignatureOutcome:
        """Ask each proposer in turn until one candidate is promoted (or all are spent)."""
        began = time.monotonic()
        out = SignatureOutcome(batch.signature, batch.title, batch.count, "no_candidate")
        base = self.line_commit()
        key = evidence_key(batch.task_ids)

        def note(line: str) -> None:
            out.notes.append(line)
            self.progress(f"{batch.signature}: {line}")

        def rejected(answer: Rejected) -> None:
            out.rejected += 1
            self.audit.append(
                "proposal_rejected",
                {"signature": batch.signature, "proposer": answer.proposer,
                 "reason": answer.reason, "excerpt": answer.excerpt[:400],
                 "tokens": answer.tokens, "cost_usd": answer.cost_usd},
            )  # fmt: skip

        for proposer in self.proposers:
            prepared = self.lookahead.take(batch.signature, base, proposer.name)
            if self.budget.exhausted and (prepared is None or not prepared.candidates):
                break
            tokens_before, cost_before = self.budget.tokens, self.budget.cost_usd
            try:
                if prepared is None:
                    candidates = self._search(batch, base, proposer)(note, rejected)
                else:
                    out.searched_ahead = True
                    candidates = prepared.replay(note, rejected)
            except TheseusError as exc:
                # e.g. a worker crash the replay cannot reproduce: the repair engine finds
                # nothing failing. That is this batch's outcome, not the end of evolution.
                note(f"{proposer.name}: {exc.line()}")
                out.reason = exc.line()
                continue
            self.budget.charge(candidates=len(candidates))
            out.tokens += self.budget.tokens - tokens_before
            out.cost_usd = round(out.cost_usd + self.budget.cost_usd - cost_before, 6)
            for candidate in candidates:
                out.candidates += 1
                candidate = self.archive.add(candidate)
                self.audit.append(
                    "proposal",
                    {"candidate": candidate.id, "signature": batch.signature,
                     "proposer": candidate.proposer, "rationale": candidate.rationale,
                     **model_spending(candidate.meta)},
                )  # fmt: skip
                status = self.decide(candidate, batch, out)
                self.guard.record(
                    batch.signature, status, candidate_id=candidate.id, evidence_key=key
                )
                if status == "promoted":
                    out.proposer = candidate.proposer
                    out.seconds = round(time.monotonic() - began, 3)
                    return out
        if out.candidates == 0:
            self.guard.record(batch.signature, "no_candidate", evidence_key=key)
            out.reason = (
                out.reason or "no proposer found a change that passes the replayed evidence"
            )
            if self.budget.exhausted:
                out.reason = str(self.budget.reason)
        out.seconds = round(time.monotonic() - began, 3)
        return out

    def _search(self, batch: FailureBatch, base: str, proposer: Proposer) -> Search:
        """``proposer``'s search for ``batch`` on ``base``, its budget starting now."""
        seconds = search_seconds(proposer, self.settings)
        if (left := self.budget.remaining_seconds) is not None:  # 0 left means 0, not no limit
            seconds = min(seconds, left)
        budget = SearchBudget.from_seconds(seconds, self.settings.propose.repair.max_candidates)
        attempts = earlier_attempts(self.archive, batch.signature)

        def run(
            note: Callable[[str], None], rejected: Callable[[Rejected], None]
        ) -> list[Candidate]:
            return propose(
                batch, self.settings, self.root, base, budget, attempts, proposer,
                spending=self.budget, on_rejected=rejected, notes=note,
            )  # fmt: skip

        return run

    def _search_ahead(self, commit: str) -> None:
        """During the health watch of ``commit``: the next batch's first search, on it."""
        upcoming = self.upcoming[0] if self.upcoming and self.ahead else None
        first = self.proposers[0] if self.proposers else None
        if upcoming is None or first is None or not searches_ahead(first) or self.budget.exhausted:
            return
        mark = self.marks.get(upcoming.signature)
        if mark is None or mark.mark != "parked":
            search = self._search(upcoming, commit, first)
            self.lookahead.start(upcoming.signature, commit, first.name, search)

    def decide(
        self, candidate: Candidate, batch: FailureBatch, out: SignatureOutcome
    ) -> CandidateStatus:
        """Verification, gate, promotion and deploy for one candidate; its final status."""
        out.candidate_id, out.diff = candidate.id, candidate.diff
        verification = self.verify(candidate, batch)
        out.reason = verification.reason
        if verification.status != "verified":
            out.outcome = verification.status
            return verification.status
        result = self.gate.decide(candidate.id, verification.scores())
        if not result.approved:
            out.outcome, out.reason = "rejected", "; ".join(result.reasons)
            return self.archive.status(candidate.id)
        promotion = self.landing.promote(candidate, batch, verification, self.url)
        out.outcome, out.commit = "promoted", promotion.commit
        out.reason = f"regression test {promotion.regression_test}"
        if self.url is None:
            out.live = f"committed only: {self.service.how}"
            return "promoted"
        # the health watch is a wait: the next batch's baseline is computed meanwhile
        self.prefetch.start(promotion.commit, self.upcoming[0] if self.upcoming else None)
        self._search_ahead(promotion.commit)
        verdict = self.landing.deploy(candidate, batch, promotion, self.url)
        out.deploy = verdict
        out.live = live_line(verdict, self.url)
        if verdict.rolled_back:
            out.outcome, out.reason = "rolled_back", verdict.reason or "health watch"
            return "rolled_back"
        return "promoted"

    # -- the steps -------------------------------------------------------------------------

    def verify(self, candidate: Candidate, batch: FailureBatch) -> Verification:
        """Sandboxed verification (policy first, once); the policy report and the outcome
        both go to the audit log and the archive."""
        self.progress(f"{batch.signature}: verifying {candidate.id[:12]}")
        verification = verify_candidate(candidate, batch, self.settings, self.root)
        if verification.policy is not None:
            self.audit.append("policy", {"candidate": candidate.id, **verification.policy})
        store_verification(self.archive, verification)
        self.audit.append(
            "verification",
            {"candidate": candidate.id, "status": verification.status,
             "reason": verification.reason, "duration": round(verification.duration, 3)},
        )  # fmt: skip
        return verification
