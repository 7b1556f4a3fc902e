"""Health of a version: rolling outcome samples, and the rule that calls a regression.

Three signals per version: the error rate seen by clients, task success (did the agent's
call complete on this version, counting crashes that a retry hid from the client), and p95
latency. A new version is compared with the old version's baseline only once it has
``health_min_samples`` calls, and a rate counts as worse only when a one-sided test says so
(Agresti-Caffo adjusted difference of proportions against the allowed increase, alpha 1%),
so a handful of unlucky calls cannot roll back a good version and a broken one cannot hide.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

Z_ALPHA_1PC = 2.326
# Latency differences below this many milliseconds are noise (scheduling, warm caches),
# whatever their ratio; real agents' calls take far longer than this.
P95_FLOOR_MS = 10.0


@dataclass(frozen=True)
class CallOutcome:
    at: float
    ok: bool  # the client got a reply
    task_ok: bool  # the call completed on this version
    latency_ms: float


@dataclass
class VersionStats:
    """The last outcomes of one version, plus lifetime counters for /metrics."""

    recent: deque[CallOutcome] = field(default_factory=lambda: deque(maxlen=5000))
    requests: int = 0
    errors: int = 0
    task_failures: int = 0
    restarts: int = 0

    def add(self, ok: bool, task_ok: bool, latency_ms: float) -> None:
        self.recent.append(CallOutcome(time.monotonic(), ok, task_ok, latency_ms))
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

    @staticmethod
    def of(outcomes: list[CallOutcome]) -> Sample:
        latencies = sorted(o.latency_ms for o in outcomes if o.ok)
        return Sample(
            n=len(outcomes),
            errors=sum(not o.ok for o in outcomes),
            task_failures=sum(not o.task_ok for o in outcomes),
            p50_ms=quantile(latencies, 0.50),
            p95_ms=quantile(latencies, 0.95),
        )

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "n": self.n,
            "error_rate": self.errors / self.n if self.n else None,
            "task_success": 1 - self.task_failures / self.n if self.n else None,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
        }


def quantile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank quantile of already sorted values (None for no values)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


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
) -> HealthVerdict:
    """Is ``candidate`` worse than ``baseline``? Undecided until it has ``min_samples``."""
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
    if candidate.p95_ms is not None and base.p95_ms is not None:
        limit = max_p95_ratio * max(base.p95_ms, P95_FLOOR_MS)
        if candidate.p95_ms > limit:
            reasons.append(
                f"p95 latency {candidate.p95_ms:.1f} ms > {max_p95_ratio:g} x baseline"
                f" {base.p95_ms:.1f} ms"
            )
    return HealthVerdict(True, bool(reasons), tuple(reasons))
