"""The base commit's own outcomes for a check set, computed once and cached.

Regressions are "passed on the base, fails on the candidate", so every candidate needs the
base's outcomes for exactly the same checks. Running them per candidate would double the cost
of verification; instead they run once per (base commit, check-set hash) and are cached in
``.theseus/baselines/`` (written atomically). Concurrent verifications of the same base wait
for the one that computes it, in this process (a lock) and across processes (``flock``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from theseus._atomic import write_text_atomic
from theseus.config import Settings
from theseus.evidence.records import ReplayCase
from theseus.verify.replay import json_text, run_replay, write_replay_module
from theseus.verify.testrun import CheckRun, run_test_suite

BASELINE_DIR = "baselines"
_FORMAT = 1
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class Baseline(BaseModel):
    """Outcome of every check on the base commit (check id -> outcome)."""

    model_config = ConfigDict(extra="forbid")

    format: int = _FORMAT
    base_commit: str
    check_hash: str
    outcomes: dict[str, str] = Field(default_factory=dict)
    suite_ok: bool = Field(default=True, description="every suite check passed on the base")
    replay_reason: str = ""
    suite_reason: str = ""
    duration: float = 0.0
    created_at: float = Field(default_factory=time.time)


def check_set_hash(settings: Settings, signature: str, cases: Sequence[ReplayCase]) -> str:
    """What decides the outcomes besides the code: the cases and how the checks are run."""
    material = json.dumps(
        {
            "format": _FORMAT,
            "signature": signature,
            "cases": json_text(cases[: settings.replay.max_cases]),
            "tests": settings.tests.model_dump(mode="json"),
            "replay": settings.replay.model_dump(mode="json"),
            "python_path": list(settings.agent.python_path),
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def baseline_path(settings: Settings, base_commit: str, check_hash: str) -> Path:
    return settings.state_dir / BASELINE_DIR / f"{base_commit[:16]}-{check_hash}.json"


def run_baseline(
    workspace: Path,
    settings: Settings,
    base_commit: str,
    signature: str,
    cases: Sequence[ReplayCase],
) -> Baseline:
    """Run the replay cases and the whole suite (no fail-fast) in a workspace at the base."""
    started = time.monotonic()
    module = write_replay_module(cases, workspace, settings, signature)
    outcomes: dict[str, str] = {}
    replay_reason = ""
    if module.node_to_task:
        replay = run_replay(module, workspace, settings, exitfirst=False)
        outcomes.update(replay.outcomes())
        replay_reason = replay.reason
    suite: CheckRun = run_test_suite(workspace, settings, exitfirst=False)
    outcomes.update(suite.outcomes())
    suite_ok = not suite.timed_out and all(r.ok for r in suite.checks.values())
    return Baseline(
        base_commit=base_commit,
        check_hash=check_set_hash(settings, signature, cases),
        outcomes=outcomes,
        suite_ok=suite_ok,
        replay_reason=replay_reason,
        suite_reason=suite.reason,
        duration=time.monotonic() - started,
    )


def load_baseline(path: Path) -> Baseline | None:
    """The cached baseline, or None when absent or unreadable (then it is recomputed)."""
    try:
        baseline = Baseline.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError):
        return None
    return baseline if baseline.format == _FORMAT else None


def save_baseline(path: Path, baseline: Baseline) -> None:
    """Atomic write: readers see the old file or the whole new one, never half."""
    write_text_atomic(path, baseline.model_dump_json(indent=1))


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with _locks_guard:
        lock = _locks.setdefault(str(path), threading.Lock())
    with lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def get_baseline(
    settings: Settings,
    base_commit: str,
    signature: str,
    cases: Sequence[ReplayCase],
    compute: Callable[[], Baseline],
) -> tuple[Baseline, bool]:
    """The cached baseline for this check set, computing it once; returns (baseline, cached)."""
    path = baseline_path(settings, base_commit, check_set_hash(settings, signature, cases))
    cached = load_baseline(path)
    if cached is not None:
        return cached, True
    with _exclusive(path):
        cached = load_baseline(path)
        if cached is not None:
            return cached, True
        baseline = compute()
        save_baseline(path, baseline)
        return baseline, False
