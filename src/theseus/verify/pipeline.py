"""Verify one candidate: workspace -> apply -> policy -> replay (failing first) -> suite -> score.

The order is the point. Policy runs before any candidate code does, so a forbidden change
never executes. The replay of the batch's recorded failures runs before the (slower) test
suite, and when the gate demands every case fixed, a case that still fails ends verification
at once: a bad candidate costs seconds, not a full suite. The base's outcomes for the same
checks are computed once per base commit and check set (see :mod:`theseus.verify.baseline`),
so a regression is "passed on the base, fails here", never "fails".

The result is a :class:`Verification` that the archive can store (:func:`store_verification`);
this stage does not import the archive itself (data flows downwards), it takes any object
with the archive's ``status``/``set_status``/``record_scores`` methods.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from theseus._scratch import Quota
from theseus.change import Candidate, Workspace, check_policy
from theseus.config import Settings
from theseus.errors import PatchError
from theseus.evidence.records import FailureBatch, ReplayCase
from theseus.verify.baseline import Baseline, get_baseline, run_baseline
from theseus.verify.replay import run_replay, write_replay_module
from theseus.verify.score import Score, compute_score
from theseus.verify.testrun import CheckRun, run_test_suite

VerificationStatus = Literal["verified", "failed", "invalid", "rejected_policy"]


class VerificationCancelled(Exception):
    """The caller cancelled this verification (e.g. another candidate already won)."""


class Verification(BaseModel):
    """The outcome of verifying one candidate; ``status`` is a candidate status."""

    model_config = ConfigDict(extra="forbid")

    candidate_id: str
    base_commit: str
    signature: str | None = None
    status: VerificationStatus
    reason: str
    score: Score | None = None
    violations: list[str] = Field(default_factory=list)
    policy: dict[str, Any] | None = Field(
        default=None, description="the policy report, as PolicyReport.to_dict(); None if cancelled"
    )
    checks: dict[str, str] = Field(default_factory=dict, description="check id -> outcome")
    replay_cases: dict[str, str] = Field(default_factory=dict, description="task id -> outcome")
    baseline_cached: bool = False
    started_at: float = Field(default_factory=time.time)
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    def scores(self) -> dict[str, Any]:
        """The flat dict the archive keeps (``Archive.record_scores``)."""
        data: dict[str, Any] = {
            "status": self.status,
            "reason": self.reason,
            "base_commit": self.base_commit,
            "signature": self.signature,
            "duration": round(self.duration, 3),
            "violations": self.violations,
            "replay_cases": self.replay_cases,
            "needs_consent": bool(self.policy and self.policy.get("needs_consent")),
            "capabilities": list(self.policy.get("capabilities", [])) if self.policy else [],
        }
        if self.score is not None:
            data.update(self.score.model_dump(mode="json"))
            data["verify_duration"] = data.pop("duration")
            data["duration"] = round(self.duration, 3)
        return data


class ResultSink(Protocol):
    """What :func:`store_verification` needs; ``theseus.lineage.archive.Archive`` is one."""

    def status(self, id_or_prefix: str) -> str: ...

    def set_status(self, id_or_prefix: str, status: str, reason: str, actor: str = ...) -> Any: ...

    def record_scores(self, id_or_prefix: str, scores: dict[str, Any]) -> None: ...


def store_verification(
    sink: ResultSink, verification: Verification, *, actor: str = "verify"
) -> None:
    """Keep the scores with the candidate; move it on from ``proposed`` (a re-verification of
    a candidate already past that point only refreshes its scores)."""
    sink.record_scores(verification.candidate_id, verification.scores())
    if sink.status(verification.candidate_id) == "proposed":
        sink.set_status(verification.candidate_id, verification.status, verification.reason, actor)


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise VerificationCancelled("verification cancelled")


def verify_candidate(
    candidate: Candidate,
    batch: FailureBatch | None,
    settings: Settings,
    project_root: Path,
    *,
    archive: ResultSink | None = None,
    cancel: threading.Event | None = None,
) -> Verification:
    """Verify ``candidate`` against ``batch`` (None: the test suite alone), here and now.

    Policy runs first, once, on the candidate's base: its report is ``Verification.policy``
    whatever the outcome, so a caller records it without checking again. With ``archive``
    the result is stored with the candidate. Sandbox set-up problems raise
    :class:`~theseus.errors.SandboxError`: they are not the candidate's fault. To run the
    work elsewhere (a pool, a cluster), submit a ``VerifyJob`` to a
    :class:`~theseus.verify.executor.Executor` instead.
    """
    verification = _verify(candidate, batch, settings, project_root, cancel)
    if archive is not None:
        store_verification(archive, verification)
    return verification


def _verify(
    candidate: Candidate,
    batch: FailureBatch | None,
    settings: Settings,
    project_root: Path,
    cancel: threading.Event | None,
) -> Verification:
    started, clock = time.time(), time.monotonic()
    signature = batch.signature if batch is not None else candidate.signature
    cases: list[ReplayCase] = list(batch.cases) if batch is not None else []

    def result(status: VerificationStatus, reason: str, **more: Any) -> Verification:
        return Verification(
            candidate_id=candidate.id,
            base_commit=candidate.base_commit,
            signature=signature,
            status=status,
            reason=reason,
            started_at=started,
            duration=time.monotonic() - clock,
            **more,
        )

    _check_cancel(cancel)
    quota = workspace_quota(settings)
    with Workspace.create(project_root, candidate.base_commit, quota=quota) as workspace:
        report = check_policy(candidate, settings, workspace.path)
        policy = report.to_dict()
        violations = [str(v) for v in report.violations]
        if "applies" in report.rules:
            why = next(v.message for v in report.violations if v.rule == "applies")
            return result("invalid", f"patch does not apply: {why}", policy=policy)
        if not report.ok:
            return result(
                "rejected_policy",
                f"policy: {report.summary()}",
                violations=violations,
                policy=policy,
            )
        try:
            workspace.apply(candidate.diff)
        except PatchError as exc:
            return result("invalid", f"patch does not apply: {exc.line()}", policy=policy)
        _check_cancel(cancel)
        baseline, cached = _baseline(
            settings, project_root, candidate.base_commit, signature, cases
        )
        _check_cancel(cancel)
        holdout = set(batch.holdout) if batch is not None else set()
        score, checks, replay_cases = _run_checks(
            workspace.path, settings, signature, cases, baseline, cancel, holdout
        )
    score.duration = time.monotonic() - clock
    status: VerificationStatus = "verified" if score.passed else "failed"
    return result(
        status,
        score.verdict,
        score=score,
        checks=checks,
        replay_cases=replay_cases,
        baseline_cached=cached,
        policy=policy,
    )


def _baseline(
    settings: Settings,
    project_root: Path,
    base_commit: str,
    signature: str | None,
    cases: list[ReplayCase],
) -> tuple[Baseline, bool]:
    sig = signature or ""

    def compute() -> Baseline:
        with Workspace.create(project_root, base_commit, quota=workspace_quota(settings)) as base:
            return run_baseline(base.path, settings, base_commit, sig, cases)

    return get_baseline(settings, base_commit, sig, cases, compute)


def prefetch_baseline(
    settings: Settings, project_root: Path, base_commit: str, batch: FailureBatch
) -> bool:
    """Compute (and cache) the baseline the verification of a candidate for ``batch`` on
    ``base_commit`` will need; True when it was cached already. Safe beside a verification
    that needs the same baseline: the two share one lock, and it is computed once."""
    return _baseline(settings, project_root, base_commit, batch.signature, list(batch.cases))[1]


def workspace_quota(settings: Settings) -> Quota:
    """The disk quota of a workspace that candidate code runs in ([verify] workspace_*)."""
    v = settings.verify
    return Quota(bytes=v.workspace_mb * 1024 * 1024, files=v.workspace_files)


def fail_fast_enabled(settings: Settings) -> bool:
    """Stop at the first unfixed case only when one unfixed case already decides the verdict
    (the gate wants every case fixed); otherwise the full count matters for the score."""
    return settings.verify.fail_fast and settings.gate.min_fixed_share >= 1.0


def _run_checks(
    workspace: Path,
    settings: Settings,
    signature: str | None,
    cases: list[ReplayCase],
    baseline: Baseline,
    cancel: threading.Event | None,
    holdout: set[str],
) -> tuple[Score, dict[str, str], dict[str, str]]:
    fail_fast = fail_fast_enabled(settings)
    clock = time.monotonic()
    passing_on_base = {check for check, outcome in baseline.outcomes.items() if outcome == "passed"}
    module = write_replay_module(
        cases, workspace, settings, signature or "", base_passing=passing_on_base, holdout=holdout
    )
    replay: CheckRun | None = None
    if module.node_to_task:
        replay = run_replay(module, workspace, settings, exitfirst=fail_fast)
    _check_cancel(cancel)
    replay_outcomes = replay.outcomes() if replay is not None else {}
    replay_cases = {
        task: replay_outcomes.get(node, "not_run") for node, task in module.node_to_task.items()
    }
    unfixed = any(outcome != "passed" for outcome in replay_cases.values())
    tests: CheckRun | None = None
    if not (fail_fast and unfixed):
        # -x on the suite only when the base was all green: otherwise a test that already
        # failed there would stop the run and hide a real regression behind it.
        tests = run_test_suite(workspace, settings, exitfirst=fail_fast and baseline.suite_ok)
    checks = {**replay_outcomes, **(tests.outcomes() if tests is not None else {})}
    score = compute_score(
        replay=replay,
        node_to_task=module.node_to_task,
        holdout=holdout,
        unreplayable=len(module.skipped),
        tests=tests,
        baseline=baseline.outcomes,
        settings=settings,
        duration=time.monotonic() - clock,
    )
    return score, checks, replay_cases
