"""Is a new version slower than the old one, beyond the noise? The latency half of health.

A p95 read off a handful of calls on a busy host is mostly noise: the newcomer's correct fix
was rolled back because 22.5 ms beat 2 x 7.5 ms on a loaded machine. So latency is judged
the way error rates are, statistically, on the agent's *own* time per call (the worker's
wall time minus the time its thread sat in the run queue waiting for a CPU, see
:mod:`theseus.runtime.cpuwait`), not the end-to-end time that queueing inflates. A new
version is called slower only when all of these hold:

1. both sides have at least :data:`MIN_LATENCY_SAMPLES` warm calls (a p95 needs twenty);
2. its p95 exceeds the allowed ratio times the baseline's p95 *and* the baseline's p95 plus
   the floor, where ratio and floor are first widened to the old version's own spread
   (the p95 of the older half of its calls against the newer half): a difference is acted
   on only when it is larger than the old version differs from itself;
3. a one-sided Mann-Whitney test, alpha 1%, says its calls are slower than the baseline's
   by more than that ratio and floor (each new value ``c`` is tested as
   ``min(c / ratio, c - floor)``), so a few slow calls cannot carry the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_LATENCY_SAMPLES = 20
ALPHA = 0.01


@dataclass(frozen=True)
class LatencyVerdict:
    decided: bool  # enough warm calls on both sides to judge
    slower: bool
    reason: str = ""


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile of already sorted values (None for no values)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def mann_whitney_greater(x: Sequence[float], y: Sequence[float]) -> float:
    """One-sided p-value that ``x`` tends to be larger than ``y`` (normal approximation
    with tie correction and continuity correction; fine from about ten values a side)."""
    n_x, n_y = len(x), len(y)
    if n_x == 0 or n_y == 0:
        return 1.0
    pooled = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
    rank_sum_x, ties, i, n = 0.0, 0.0, 0, n_x + n_y
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        average_rank = (i + j) / 2 + 1
        group = j - i + 1
        rank_sum_x += average_rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        ties += group**3 - group
        i = j + 1
    u = rank_sum_x - n_x * (n_x + 1) / 2
    variance = n_x * n_y / 12 * ((n + 1) - ties / (n * (n - 1) if n > 1 else 1))
    if variance <= 0:
        return 1.0
    z = (u - n_x * n_y / 2 - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def own_spread(chronological: Sequence[float]) -> tuple[float, float]:
    """The old version's own noise: (ratio, milliseconds) between the p95 of the older and
    the newer half of its calls; (1, 0) when there are too few calls to split."""
    half = len(chronological) // 2
    if half < MIN_LATENCY_SAMPLES:
        return 1.0, 0.0
    older = quantile(sorted(chronological[:half]), 0.95)
    newer = quantile(sorted(chronological[half:]), 0.95)
    assert older is not None and newer is not None
    low, high = min(older, newer), max(older, newer)
    return (high / low if low > 0 else 1.0), high - low


def judge(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    max_ratio: float,
    floor_ms: float,
    alpha: float = ALPHA,
) -> LatencyVerdict:
    """Whether ``candidate``'s own times (any order) are slower than ``baseline``'s (in the
    order they were measured), beyond the ratio, the floor and the baseline's own spread."""
    if len(candidate) < MIN_LATENCY_SAMPLES or len(baseline) < MIN_LATENCY_SAMPLES:
        return LatencyVerdict(decided=False, slower=False)
    spread_ratio, spread_ms = own_spread(baseline)
    ratio, floor = max(max_ratio, spread_ratio), max(floor_ms, spread_ms)
    base_sorted, cand_sorted = sorted(baseline), sorted(candidate)
    base_p95, cand_p95 = quantile(base_sorted, 0.95), quantile(cand_sorted, 0.95)
    assert base_p95 is not None and cand_p95 is not None
    if cand_p95 <= ratio * base_p95 or cand_p95 <= base_p95 + floor:
        return LatencyVerdict(decided=True, slower=False)
    shifted = [min(c / ratio, c - floor) for c in cand_sorted]
    p_value = mann_whitney_greater(shifted, base_sorted)
    if p_value >= alpha:
        return LatencyVerdict(decided=True, slower=False)
    reason = (
        f"p95 of the agent's own time {cand_p95:.1f} ms vs baseline {base_p95:.1f} ms"
        f" (> {ratio:.3g} x and > +{floor:.3g} ms, Mann-Whitney p={p_value:.2g},"
        f" {len(candidate)} vs {len(baseline)} calls)"
    )
    return LatencyVerdict(decided=True, slower=True, reason=reason)
