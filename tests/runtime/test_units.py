"""Pure pieces: the frame protocol, the health rule, restart intensity, routing, sessions."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from theseus.runtime.groupcommit import GroupCommitter
from theseus.runtime.health import Sample, assess, quantile, worse_rate
from theseus.runtime.pool import RestartIntensity
from theseus.runtime.protocol import (
    MAX_FRAME,
    ProtocolError,
    encode,
    read_frame,
    read_frame_fd,
    write_frame_fd,
)
from theseus.runtime.router import Router, bucket
from theseus.runtime.sessions import Session, SessionStore

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text()
    | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@given(json_values)
def test_frames_round_trip_over_a_pipe(value: Any) -> None:
    read_fd, write_fd = os.pipe()
    try:
        write_frame_fd(write_fd, {"v": value})
        assert read_frame_fd(read_fd) == {"v": value}
    finally:
        os.close(read_fd)
        os.close(write_fd)


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_async_reader_sees_frames_then_clean_eof() -> None:
    async def go() -> None:
        reader = _reader(encode([1, "a"]) + encode({"b": None}))
        assert await read_frame(reader) == [1, "a"]
        assert await read_frame(reader) == {"b": None}
        with pytest.raises(EOFError):
            await read_frame(reader)

    asyncio.run(go())


@pytest.mark.parametrize(
    "data",
    [
        encode("hello")[:-2],  # cut inside the payload
        b"\x00\x00",  # cut inside the header
        struct.pack(">I", MAX_FRAME + 1),  # absurd length
        struct.pack(">I", 1) + b"\xc1",  # 0xc1 is never valid msgpack
    ],
)
def test_malformed_frames_are_protocol_errors(data: bytes) -> None:
    async def go() -> None:
        await read_frame(_reader(data))

    with pytest.raises(ProtocolError):
        asyncio.run(go())


def test_restart_intensity_counts_within_the_period_only() -> None:
    limit = RestartIntensity(limit=2, period=10.0)
    assert limit.allow(0.0) and limit.allow(1.0)
    assert not limit.allow(2.0)  # third within 10 s
    fresh = RestartIntensity(limit=2, period=10.0)
    assert fresh.allow(0.0) and fresh.allow(1.0) and fresh.allow(20.0)  # old ones expired


def test_quantile_nearest_rank() -> None:
    assert quantile([], 0.5) is None
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert quantile([float(i) for i in range(1, 101)], 0.95) == 95.0


def test_health_rule_needs_samples_and_significance() -> None:
    quick = tuple(1.0 + (i % 7) / 10 for i in range(500))
    base = Sample(n=500, errors=0, task_failures=0, p50_ms=1.0, p95_ms=2.0, own_ms=quick)
    few = Sample(n=5, errors=5, task_failures=5, p50_ms=1.0, p95_ms=2.0)
    rule = {"min_samples": 20, "max_error_rate_increase": 0.05, "max_p95_ratio": 2.0}
    assert not assess(base, few, **rule).decided
    broken = Sample(n=30, errors=10, task_failures=10, p50_ms=1.0, p95_ms=2.0)
    verdict = assess(base, broken, **rule)
    assert verdict.decided and verdict.regressed and "error rate" in verdict.reasons[0]
    one_unlucky = Sample(n=30, errors=1, task_failures=1, p50_ms=1.0, p95_ms=2.0, own_ms=quick[:29])
    assert not assess(base, one_unlucky, **rule).regressed
    assert assess(base, one_unlucky, **rule).decided
    slow_own = tuple(50.0 + i for i in range(30))
    slow = Sample(n=30, errors=0, task_failures=0, p50_ms=50.0, p95_ms=80.0, own_ms=slow_own)
    assert "own time" in assess(base, slow, **rule).reasons[0]
    jitter_own = tuple(2.0 + (i % 5) for i in range(30))  # 3x slower, but under the floor
    jitter = Sample(n=30, errors=0, task_failures=0, p50_ms=2.0, p95_ms=6.0, own_ms=jitter_own)
    assert not assess(base, jitter, **rule).regressed
    queued = Sample(n=30, errors=0, task_failures=0, p50_ms=40.0, p95_ms=90.0, own_ms=quick[:30])
    assert not assess(base, queued, **rule).regressed  # slow end to end, not in the agent
    no_warm_calls_yet = Sample(n=30, errors=0, task_failures=0, p50_ms=1.0, p95_ms=2.0)
    assert not assess(base, no_warm_calls_yet, **rule).decided  # latency not judged yet
    crashes_hidden_by_retries = Sample(n=30, errors=0, task_failures=12, p50_ms=1, p95_ms=2)
    assert "task failures" in assess(base, crashes_hidden_by_retries, **rule).reasons[0]


def test_worse_rate_respects_margin() -> None:
    assert not worse_rate(3, 100, 0, 100, margin=0.05)
    assert worse_rate(30, 100, 0, 100, margin=0.05)


def test_router_canary_cut_over_and_rollback() -> None:
    router = Router("a")
    alive = lambda version: True  # noqa: E731
    assert router.route("s", None, False, alive).version == "a"
    router.start_canary("b", 0.5)
    routed = {router.route(f"s{i}", None, False, alive).version for i in range(200)}
    assert routed == {"a", "b"}
    assert router.route("s1", "a", False, alive).version == "a"  # existing sessions stay
    router.cut_over("b")
    route = router.route("s1", "a", False, alive)
    assert (route.version, route.migrate_from) == ("b", "a")
    assert router.route("s1", "a", True, alive).version == "a"  # pinned after failed migrate
    assert router.previous == "a"
    router.roll_back("b", "a")
    assert router.current == "a" and "b" in router.failed and router.previous is None
    assert router.route("s1", "b", True, alive).migrate_from == "b"  # failed: never pinned


def test_bucket_is_stable_and_spread() -> None:
    assert bucket("abc") == bucket("abc")
    values = [bucket(f"s{i}") for i in range(1000)]
    assert 0.4 < sum(v < 0.5 for v in values) / 1000 < 0.6


def test_sessions_survive_a_new_store(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    asyncio.run(store.save(Session(id="x", version="v", state={"n": 1}, messages=1)))
    store.close()
    again = SessionStore(tmp_path / "s.db")
    session = again.get("x")
    assert session is not None and session.state == {"n": 1} and session.version == "v"
    assert again.count() == 1 and again.count_on("v") == 1 and again.get("nope") is None
    again.close()


def test_a_saved_session_is_committed_when_save_returns(tmp_path: Path) -> None:
    """Durable on return, before any close: another connection reads it at once. Many
    sessions saved together share transactions instead of paying one commit each."""
    store = SessionStore(tmp_path / "s.db")

    async def go() -> None:
        token = store.claim("s0")
        assert token is not None
        await asyncio.gather(
            *(store.save(Session(id=f"s{n}", version="v", state={"n": n})) for n in range(50))
        )

    asyncio.run(go())
    other = sqlite3.connect(tmp_path / "s.db")
    assert other.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 50
    assert other.execute("SELECT COUNT(*) FROM session_tokens").fetchone()[0] == 1
    other.close()
    # the claim's flush was scheduled before the saves ran; the 50 then share one commit
    assert store._writes.items == 51 and store._writes.commits == 2
    store.close()


def test_a_failed_group_commit_fails_every_waiter_and_the_writer_goes_on() -> None:
    calls: list[list[int]] = []

    def commit(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        if 13 in items:
            raise OSError("disk full")
        return [i * 2 for i in items]

    writer: GroupCommitter[int, int] = GroupCommitter(commit)

    async def go() -> tuple[list[object], int]:
        results = await asyncio.gather(*(writer.submit(i) for i in (1, 13)), return_exceptions=True)
        return list(results), await writer.submit(4)

    results, after = asyncio.run(go())
    writer.close()
    if calls[0] == [1, 13]:  # committed together: both failed
        assert all(isinstance(r, OSError) for r in results)
    else:
        assert results[0] == 2 and isinstance(results[1], OSError)
    assert after == 8
