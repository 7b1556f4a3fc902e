"""The executor interface: many verifications at once, results as they complete, cancel."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from mini_agent import mini_agent

from theseus.change.candidate import Candidate
from theseus.config import Settings
from theseus.errors import SandboxError
from theseus.evidence.records import FailureBatch
from theseus.verify.executor import Executor, LocalExecutor, VerifyJob, verify_many
from theseus.verify.pipeline import Verification, VerificationCancelled

mini = mini_agent()


def job(n: int) -> VerifyJob:
    return VerifyJob(candidate=Candidate.create(base_commit="b", diff=f"d{n}", proposer="t"))


def done(candidate: Candidate) -> Verification:
    return Verification(candidate_id=candidate.id, base_commit="b", status="verified", reason="ok")


class Gated:
    """A verify function whose jobs wait for a gate: lets a test decide what is running."""

    def __init__(self, free: frozenset[str] = frozenset()) -> None:
        self.free = free  # diffs that do not wait for the gate
        self.gate = threading.Event()
        self.started: list[str] = []
        self.cancel_seen: list[str] = []

    def __call__(
        self,
        candidate: Candidate,
        batch: FailureBatch | None,
        settings: Settings,
        root: Path,
        *,
        cancel: threading.Event,
    ) -> Verification:
        self.started.append(candidate.diff)
        if candidate.diff not in self.free:
            self.gate.wait(30)
        if cancel.is_set():
            self.cancel_seen.append(candidate.diff)
            raise VerificationCancelled("cancelled")
        if candidate.diff == "d-bad":
            raise SandboxError("no sandbox backend")
        return done(candidate)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return mini.make_project(tmp_path / "p").settings()  # type: ignore[no-any-return]


def test_results_come_back_for_every_job_and_errors_are_reported(settings: Settings) -> None:
    gated = Gated()
    gated.gate.set()
    bad = VerifyJob(candidate=Candidate.create(base_commit="b", diff="d-bad", proposer="t"))
    with LocalExecutor(settings, settings.root, workers=2, verify=gated) as executor:
        results = list(executor.run([job(1), bad, job(2)]))
    assert len(results) == 3
    by_diff = {r.job.candidate.diff: r for r in results}
    assert by_diff["d1"].ok and by_diff["d2"].ok
    assert by_diff["d-bad"].verification is None
    assert by_diff["d-bad"].error == "no sandbox backend"


def test_pending_jobs_cancelled_never_start(settings: Settings) -> None:
    gated = Gated()
    executor = LocalExecutor(settings, settings.root, workers=1, verify=gated)
    handles = [executor.submit(job(n)) for n in range(4)]
    while not gated.started:
        threading.Event().wait(0.01)
    assert all(h.cancel() for h in handles[1:])
    gated.gate.set()
    finished = list(executor.as_completed(handles))
    executor.shutdown()
    assert len(finished) == 4
    outcomes = [h.outcome() for h in handles]
    assert outcomes[0].ok
    assert all(o.cancelled for o in outcomes[1:])
    assert gated.started == ["d0"]


def test_leaving_run_early_cancels_the_rest(settings: Settings) -> None:
    gated = Gated(free=frozenset({"d0"}))
    executor = LocalExecutor(settings, settings.root, workers=1, verify=gated)
    results = executor.run([job(n) for n in range(4)])
    first = next(results)
    assert first.ok and first.job.candidate.diff == "d0"
    while len(gated.started) < 2:  # d1 is running, blocked on the gate
        threading.Event().wait(0.01)
    results.close()  # a caller that found its winner and stops looking
    gated.gate.set()
    executor.shutdown()
    assert gated.started == ["d0", "d1"]
    assert gated.cancel_seen == ["d1"]  # the running one stopped at its next stage


def test_a_running_job_sees_the_cancel_at_its_next_stage(settings: Settings) -> None:
    gated = Gated()
    executor = LocalExecutor(settings, settings.root, workers=1, verify=gated)
    handle = executor.submit(job(1))
    while not gated.started:
        threading.Event().wait(0.01)
    handle.cancel()
    gated.gate.set()
    assert handle.outcome().cancelled
    assert gated.cancel_seen == ["d1"]
    executor.shutdown()


def test_workers_default_to_the_settings(settings: Settings) -> None:
    with LocalExecutor(settings, settings.root) as executor:
        assert isinstance(executor, Executor)
        assert executor.workers == settings.verify.workers == 2


@pytest.mark.e2e
def test_candidates_verify_in_parallel_for_real(tmp_path: Path) -> None:
    project = mini.make_project(tmp_path / "p")
    settings = project.settings()
    batch = mini.add_batch()
    jobs = [
        VerifyJob(
            candidate=Candidate.create(
                base_commit=project.head, diff=project.diff(e), proposer="t"
            ),
            batch=batch,
        )
        for e in (mini.FIX, mini.BREAK_GREET, mini.NO_FIX)
    ]
    results = verify_many(jobs, settings, project.root)
    statuses = {r.job.candidate.id: r.verification.status for r in results if r.verification}
    assert statuses == {
        jobs[0].candidate.id: "verified",
        jobs[1].candidate.id: "failed",
        jobs[2].candidate.id: "failed",
    }
    # One baseline for the three candidates of one base and batch.
    assert len(list((settings.state_dir / "baselines").glob("*.json"))) == 1


@pytest.mark.e2e
def test_a_candidate_can_be_verified_through_an_executor(tmp_path: Path) -> None:
    project = mini.make_project(tmp_path / "p")
    settings = project.settings()
    candidate = Candidate.create(
        base_commit=project.head, diff=project.diff(mini.FIX), proposer="t"
    )
    with LocalExecutor(settings, project.root, workers=1) as executor:
        result = executor.verify(candidate, mini.add_batch())
    assert result.status == "verified"


def test_jobs_are_picklable_for_a_distributed_executor() -> None:
    import pickle

    original = VerifyJob(
        candidate=Candidate.create(base_commit="b", diff="d", proposer="t"), batch=mini.add_batch()
    )
    assert pickle.loads(pickle.dumps(original)) == original
