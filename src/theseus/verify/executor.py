"""Many verifications at once, behind one small interface.

Callers (the evolution cycle, the CLI, benchmarks) submit :class:`VerifyJob`s, take results
as they complete and cancel the rest once a winner is known. They never see threads, pools or
clusters, so a distributed executor (Ray: a job is a remote task, a handle wraps its
``ObjectRef``, ``as_completed`` is ``ray.wait``) plugs in without touching them. Jobs and
results are pydantic models, picklable, so they can cross a process or machine boundary.

:class:`LocalExecutor` runs ``settings.verify.workers`` verifications side by side in a thread
pool: the heavy work is in sandboxed subprocesses, so threads are enough and share the
baseline cache. Cancelling a running job takes effect at its next stage boundary (after the
replay, before the suite): a sandboxed command is bounded by its own timeout.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pydantic import BaseModel, ConfigDict

from theseus.change.candidate import Candidate
from theseus.config import Settings
from theseus.errors import TheseusError
from theseus.evidence.records import FailureBatch
from theseus.verify.pipeline import Verification, VerificationCancelled, verify_candidate


class VerifyJob(BaseModel):
    """One unit of work: verify ``candidate`` against ``batch`` (None: the suite alone)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    candidate: Candidate
    batch: FailureBatch | None = None


@dataclass(frozen=True)
class JobResult:
    """A finished job: its verification, or why there is none (an error, or cancelled)."""

    job: VerifyJob
    verification: Verification | None = None
    error: str | None = None
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.verification is not None and self.verification.ok


class JobHandle(abc.ABC):
    """A submitted job, like a future."""

    job: VerifyJob

    @abc.abstractmethod
    def done(self) -> bool: ...

    @abc.abstractmethod
    def result(self, timeout: float | None = None) -> Verification:
        """The verification; re-raises the job's error, VerificationCancelled if cancelled."""

    @abc.abstractmethod
    def cancel(self) -> bool:
        """Stop the job: pending ones never start, running ones stop at the next stage."""

    def outcome(self) -> JobResult:
        """The finished job as a :class:`JobResult`, never raising."""
        try:
            return JobResult(self.job, verification=self.result())
        except VerificationCancelled:
            return JobResult(self.job, cancelled=True)
        except TheseusError as exc:
            return JobResult(self.job, error=exc.line())
        except Exception as exc:
            return JobResult(self.job, error=f"{type(exc).__name__}: {exc}")


class Executor(abc.ABC):
    """Runs verification jobs; implementations: :class:`LocalExecutor` (a Ray one later)."""

    @abc.abstractmethod
    def submit(self, job: VerifyJob) -> JobHandle: ...

    @abc.abstractmethod
    def as_completed(
        self, handles: Iterable[JobHandle], timeout: float | None = None
    ) -> Iterator[JobHandle]:
        """Yield each handle when its job finishes (cancelled ones included), first first."""

    @abc.abstractmethod
    def shutdown(self, *, cancel_pending: bool = True) -> None: ...

    def verify(self, candidate: Candidate, batch: FailureBatch | None) -> Verification:
        """Verify one candidate on this executor and wait for it (one job, submitted)."""
        return self.submit(VerifyJob(candidate=candidate, batch=batch)).result()

    def run(self, jobs: Iterable[VerifyJob], timeout: float | None = None) -> Iterator[JobResult]:
        """Submit every job and yield results as they complete. Closing the iterator early
        (``break``) cancels the jobs that have not finished."""
        handles = [self.submit(job) for job in jobs]
        try:
            for handle in self.as_completed(handles, timeout):
                yield handle.outcome()
        finally:
            for handle in handles:
                if not handle.done():
                    handle.cancel()

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown(cancel_pending=True)


VerifyFunction = Callable[..., Verification]


class _LocalHandle(JobHandle):
    def __init__(self, job: VerifyJob, future: Future[Verification], cancel: threading.Event):
        self.job = job
        self.future = future
        self._cancel = cancel

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: float | None = None) -> Verification:
        if self.future.cancelled():
            raise VerificationCancelled("verification cancelled before it started")
        return self.future.result(timeout)

    def cancel(self) -> bool:
        self._cancel.set()
        return self.future.cancel() or not self.future.done()


class LocalExecutor(Executor):
    """A thread pool on this machine, ``workers`` verifications at a time."""

    def __init__(
        self,
        settings: Settings,
        project_root: Path,
        *,
        workers: int | None = None,
        verify: VerifyFunction = verify_candidate,
    ) -> None:
        self.settings = settings
        self.project_root = project_root
        self.workers = workers or settings.verify.workers
        self._verify = verify
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="theseus-verify")
        self._handles: list[_LocalHandle] = []

    def submit(self, job: VerifyJob) -> JobHandle:
        cancel = threading.Event()
        future = self._pool.submit(
            self._verify, job.candidate, job.batch, self.settings, self.project_root, cancel=cancel
        )
        handle = _LocalHandle(job, future, cancel)
        self._handles = [h for h in self._handles if not h.done()]
        self._handles.append(handle)
        return handle

    def as_completed(
        self, handles: Iterable[JobHandle], timeout: float | None = None
    ) -> Iterator[JobHandle]:
        by_future: dict[Future[Verification], JobHandle] = {}
        for handle in handles:
            if not isinstance(handle, _LocalHandle):
                raise TypeError("LocalExecutor.as_completed takes handles it made")
            by_future[handle.future] = handle
        pending = set(by_future)
        while pending:
            done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:
                raise TimeoutError(f"no verification finished within {timeout}s")
            for future in sorted(done, key=lambda f: list(by_future).index(f)):
                yield by_future[future]

    def shutdown(self, *, cancel_pending: bool = True) -> None:
        """Wait for the pool to end; with ``cancel_pending`` unfinished jobs are cancelled."""
        if cancel_pending:
            for handle in self._handles:
                handle.cancel()
        self._pool.shutdown(wait=True, cancel_futures=cancel_pending)


def verify_many(
    jobs: Iterable[VerifyJob],
    settings: Settings,
    project_root: Path,
    *,
    executor: Executor | None = None,
) -> list[JobResult]:
    """Every job's result, in completion order (a convenience over :meth:`Executor.run`)."""
    if executor is not None:
        return list(executor.run(jobs))
    with LocalExecutor(settings, project_root) as local:
        return list(local.run(jobs))
