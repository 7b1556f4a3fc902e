"""Health of a version: rolling outcome samples, and the rule that calls a regression.

Three signals per version: the error rate seen by clients, task success (did the agent's
call complete on this version, counting crashes that a retry hid from the client), and
latency. A new version is compared with the old version's baseline only once it has
``health_min_samples`` calls, and a rate counts as worse only when a one-sided test says so
(Agresti-Caffo adjusted difference of proportions against the allowed increase, alpha 1%),
so a handful of unlucky calls cannot roll back a good version and a broken one cannot hide.
Latency is judged on the agent's own time per call, warm calls only, by
:mod:`theseus.runtime.latency`; the end-to-end p50/p95 are kept for people and /metrics.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from theseus.runtime.latency import MIN_LATENCY_SAMPLES, judge, quantile

__all__ = [
    "CallOutcome",
    "HealthVerdict",
    "Sample",
    "VersionStats",
    "assess",
    "own_time",
    "quantile",
]

Z_ALPHA_1PC = 2.326
# Latency differences below this many milliseconds are noise (scheduling, warm caches),
# whatever their ratio; real agents' calls take far longer than this.
P95_FLOOR_MS = 10.0


@dataclass(frozen=True)
class CallOutcome:
    at: float
    ok: bool  # the client got a reply
    task_ok: bool  # the call completed on this version
    latency_ms: float  # end to end, as the supervisor saw it
    own_ms: float | None = None  # the agent's own time, for a warm successful call


@dataclass
class VersionStats:
    """The last outcomes of one version, plus lifetime counters for /metrics."""

    recent: deque[CallOutcome] = field(default_factory=lambda: deque(maxlen=5000))
    requests: int = 0
    errors: int = 0
    task_failures: int = 0
    restarts: int = 0

    def add(self, ok: bool, task_ok: bool, latency_ms: float, own_ms: float | None = None) -> None:
        self.recent.append(CallOutcome(time.monotonic(), ok, task_ok, latency_ms, own_ms))
        self.requests += 1
        self.errors += not ok
        self.task_failures += not task_ok

    def sample(self, since: float | None = None) -> Sample:
        outcomes = [o for o in self.recent if since is None or o.at >= since]
        return Sample.of(outcomes)


@dataclass(frozen=True)
class Sample:
    n: int
    errors: int
    task_failures: int
    p50_ms: float | None
    p95_ms: float | None
    own_ms: tuple[float, ...] = ()  # warm calls' own times, in the order they ran

    @staticmethod
    def of(outcomes: list[CallOutcome]) -> Sample:
        latencies = sorted(o.latency_ms for o in outcomes if o.ok)
        return Sample(
            n=len(outcomes),
            errors=sum(not o.ok for o in outcomes),
            task_failures=sum(not o.task_ok for o in outcomes),
            p50_ms=quantile(latencies, 0.50),
            p95_ms=quantile(latencies, 0.95),
            own_ms=tuple(o.own_ms for o in outcomes if o.own_ms is not None),
        )

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "n": self.n,
            "error_rate": self.errors / self.n if self.n else None,
            "task_success": 1 - self.task_failures / self.n if self.n else None,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "own_p95_ms": quantile(sorted(self.own_ms), 0.95),
            "own_n": len(self.own_ms),
        }


def own_time(response: dict[str, Any], warmup_calls: int) -> float | None:
    """The agent's own time for one answered call: its worker's wall time less the time the
    worker waited for a CPU. None for a worker's first ``warmup_calls`` calls (imports, cold
    caches), which the latency judgement leaves out, and for a worker that did not say."""
    calls, duration = response.get("calls"), response.get("duration_ms")
    if not isinstance(calls, int) or not isinstance(duration, (int, float)):
        return None
    if calls <= warmup_calls:
        return None
    waited = response.get("cpu_wait_ms")
    waited = waited if isinstance(waited, (int, float)) else 0.0
    return max(0.0, float(duration) - float(waited))


def worse_rate(new_bad: int, new_n: int, old_bad: int, old_n: int, margin: float) -> bool:
    """One-sided test that the new failure rate exceeds the old one by more than ``margin``."""
    p_new = (new_bad + 1) / (new_n + 2)
    p_old = (old_bad + 1) / (old_n + 2)
    spread = math.sqrt(p_new * (1 - p_new) / (new_n + 2) + p_old * (1 - p_old) / (old_n + 2))
    return (p_new - p_old - margin) / spread > Z_ALPHA_1PC


@dataclass(frozen=True)
class HealthVerdict:
    decided: bool  # enough samples to judge
    regressed: bool
    reasons: tuple[str, ...]


def assess(
    baseline: Sample,
    candidate: Sample,
    *,
    min_samples: int,
    max_error_rate_increase: float,
    max_p95_ratio: float,
    latency_floor_ms: float = P95_FLOOR_MS,
) -> HealthVerdict:
    """Is ``candidate`` worse than ``baseline``? Undecided until it has ``min_samples`` calls
    and, when the baseline has warm calls to compare with, enough warm calls of its own."""
    if candidate.n < min_samples:
        return HealthVerdict(False, False, ())
    # Without a usable baseline, compare against a perfect one of the same size.
    base = baseline if baseline.n >= min_samples else Sample(min_samples, 0, 0, None, None)
    reasons: list[str] = []
    if worse_rate(candidate.errors, candidate.n, base.errors, base.n, max_error_rate_increase):
        reasons.append(
            f"error rate {candidate.errors}/{candidate.n} vs baseline {base.errors}/{base.n}"
        )
    if worse_rate(
        candidate.task_failures, candidate.n, base.task_failures, base.n, max_error_rate_increase
    ):
        reasons.append(
            f"task failures {candidate.task_failures}/{candidate.n}"
            f" vs baseline {base.task_failures}/{base.n}"
        )
    latency = judge(
        base.own_ms, candidate.own_ms, max_ratio=max_p95_ratio, floor_ms=latency_floor_ms
    )
    if latency.slower:
        reasons.append(latency.reason)
    # A regression in rates is decided now; "healthy" needs the latency judged too.
    decided = bool(reasons) or latency.decided or len(base.own_ms) < MIN_LATENCY_SAMPLES
    return HealthVerdict(decided, bool(reasons), tuple(reasons))
