"""verify stage: prove a candidate in an ephemeral no-network sandbox.

``verify_candidate(candidate, batch, settings, root)`` checks policy once, applies the
candidate in a workspace at its base, replays the batch's recorded failures as tests
(:mod:`.replay`), runs the project's test suite (:mod:`.testrun`), compares every check
with the cached baseline of the base commit (:mod:`.baseline`) and scores the result
(:mod:`.score`). :func:`execution_paths` re-runs reported inputs to learn which functions
each ran, so the curator can split wrong answers by cause. An :class:`Executor` runs many verifications at once. The sandbox
(:mod:`.sandbox`) is shared with the proposers that run code.

Imports evidence and change, never propose, gate, lineage, runtime or evolve: the archive
it stores results in is any object with :class:`ResultSink`'s methods.
"""

from theseus.verify.baseline import Baseline, get_baseline
from theseus.verify.executor import Executor, JobHandle, JobResult, LocalExecutor, VerifyJob
from theseus.verify.fingerprint import execution_paths
from theseus.verify.pipeline import (
    ResultSink,
    Verification,
    VerificationCancelled,
    VerificationStatus,
    fail_fast_enabled,
    prefetch_baseline,
    store_verification,
    verify_candidate,
    workspace_quota,
)
from theseus.verify.replay import ReplayModule, write_replay_module
from theseus.verify.score import Score
from theseus.verify.testrun import CheckResult, CheckRun

__all__ = [
    "Baseline",
    "CheckResult",
    "CheckRun",
    "Executor",
    "JobHandle",
    "JobResult",
    "LocalExecutor",
    "ReplayModule",
    "ResultSink",
    "Score",
    "Verification",
    "VerificationCancelled",
    "VerificationStatus",
    "VerifyJob",
    "execution_paths",
    "fail_fast_enabled",
    "get_baseline",
    "prefetch_baseline",
    "store_verification",
    "verify_candidate",
    "workspace_quota",
    "write_replay_module",
]
