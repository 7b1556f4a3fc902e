"""The latency half of the health rule: statistics that beat a busy host's noise."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from theseus.runtime.cpuwait import RunQueueClock
from theseus.runtime.latency import (
    MIN_LATENCY_SAMPLES,
    judge,
    mann_whitney_greater,
    own_spread,
)

RULE = {"max_ratio": 2.0, "floor_ms": 10.0}


def noisy(rng: random.Random, n: int, centre: float, tail: float = 0.1) -> list[float]:
    """A busy host's latencies: mostly ``centre``, with a heavy tail of stalls."""
    return [
        centre * rng.uniform(0.8, 1.3) + (rng.expovariate(1 / 15.0) if rng.random() < tail else 0)
        for _ in range(n)
    ]


def test_mann_whitney_finds_a_shift_and_not_its_absence() -> None:
    low, high = [float(v) for v in range(1, 31)], [float(v) for v in range(21, 51)]
    assert mann_whitney_greater(high, low) < 0.001
    assert mann_whitney_greater(low, high) > 0.99
    same = [1.0] * 30
    assert mann_whitney_greater(same, same) > 0.4  # all ties: no evidence either way
    assert mann_whitney_greater([], low) == 1.0


def test_mann_whitney_false_alarms_stay_near_alpha() -> None:
    rng = random.Random(7)
    trials = 400
    alarms = sum(
        mann_whitney_greater(noisy(rng, 30, 5.0), noisy(rng, 60, 5.0)) < 0.05 for _ in range(trials)
    )
    assert 0.01 * trials <= alarms <= 0.09 * trials


@given(
    st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=60),
)
def test_mann_whitney_is_a_probability_and_monotone_in_a_shift(
    x: list[float], y: list[float]
) -> None:
    p = mann_whitney_greater(x, y)
    assert 0.0 <= p <= 1.0
    assert mann_whitney_greater([v + 1e5 for v in x], y) <= p + 1e-12


def test_a_version_120_ms_slower_per_call_is_caught_on_twenty_calls() -> None:
    rng = random.Random(1)
    baseline = noisy(rng, 200, 3.0)
    slower = [v + 120.0 for v in noisy(rng, MIN_LATENCY_SAMPLES, 3.0)]
    verdict = judge(baseline, slower, **RULE)
    assert verdict.decided and verdict.slower
    assert "Mann-Whitney" in verdict.reason


def test_the_same_code_on_a_busy_host_is_not_called_slower() -> None:
    rng = random.Random(2)
    for seed in range(50):
        rng.seed(seed)
        baseline = noisy(rng, 300, 3.0, tail=0.05)
        busier = noisy(rng, 40, 3.0, tail=0.25)  # more stalls than the baseline saw
        assert not judge(baseline, busier, **RULE).slower, seed


def test_too_few_calls_decide_nothing() -> None:
    verdict = judge([1.0] * 100, [500.0] * (MIN_LATENCY_SAMPLES - 1), **RULE)
    assert not verdict.decided and not verdict.slower
    assert not judge([1.0] * 5, [500.0] * 100, **RULE).decided


def test_a_few_slow_calls_cannot_carry_the_verdict() -> None:
    """p95 alone would call this slower: 3 of 40 calls stalled for 200 ms."""
    rng = random.Random(3)
    baseline = noisy(rng, 200, 3.0, tail=0.0)
    candidate = [*noisy(rng, 37, 3.0, tail=0.0), 200.0, 210.0, 220.0]
    assert not judge(baseline, candidate, **RULE).slower


def test_the_old_versions_own_spread_widens_what_counts_as_slower() -> None:
    calm, stormy = [2.0] * 40, [2.0] * 30 + [60.0] * 10  # it differed from itself by ~30x
    spread_ratio, spread_ms = own_spread(calm + stormy)
    assert spread_ratio == 30.0 and spread_ms == 58.0
    candidate = [45.0] * 40  # 22x the calm p95, but within the old version's own spread
    assert not judge(calm + stormy, candidate, **RULE).slower
    assert judge([2.0] * 80, candidate, **RULE).slower  # a steady baseline: it is slower
    assert own_spread([1.0] * 10) == (1.0, 0.0)  # too few calls to split


def test_the_run_queue_clock_reads_this_threads_waiting() -> None:
    clock = RunQueueClock()
    try:
        first = clock.waited_ns()
        sum(range(200_000))
        assert clock.waited_ns() >= first >= 0
        assert clock.available == Path("/proc/thread-self/schedstat").exists()
    finally:
        clock.close()
    assert clock.waited_ns() == 0 and not clock.available
