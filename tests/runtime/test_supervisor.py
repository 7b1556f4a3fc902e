"""The supervisor with real worker processes, real git versions and real SQLite."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from agentrepo import fresh_settings
from supervised import run

from theseus.config import Settings
from theseus.evidence.store import EvidenceStore
from theseus.runtime import deploy as swap
from theseus.runtime.failures import AgentError, BadRequest, DeployFailed, WorkerCrashed
from theseus.runtime.supervisor import Supervisor

pytestmark = pytest.mark.e2e


async def load(
    sup: Supervisor,
    sessions: int,
    per_session: int,
    pause: float = 0.0,
    until: asyncio.Event | None = None,
) -> dict[str, list[Any]]:
    """Concurrent sessions, each sending messages in order (at least ``per_session``, and
    while ``until`` is not set, then 3 more); returns the replies per session."""
    replies: dict[str, list[Any]] = {f"s{i}": [] for i in range(sessions)}

    async def one(session: str) -> None:
        sent = 0
        while sent < per_session or (until is not None and not until.is_set()):
            result = await sup.handle(session, "hi")
            replies[session].append(result.reply)
            sent += 1
            await asyncio.sleep(pause)
        for _ in range(3 if until is not None else 0):
            replies[session].append((await sup.handle(session, "hi")).reply)

    await asyncio.gather(*(one(s) for s in replies))
    return replies


def assert_no_session_lost(replies: dict[str, list[Any]]) -> None:
    for session, answers in replies.items():
        assert [a["count"] for a in answers] == list(range(1, len(answers) + 1)), session


def test_state_is_kept_and_an_agent_error_leaves_it_unchanged(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> None:
        assert (await sup.handle("a", "x")).reply["count"] == 1
        with pytest.raises(AgentError, match="boom on purpose"):
            await sup.handle("a", "boom")
        assert (await sup.handle("a", "x")).reply["count"] == 2
        with pytest.raises(BadRequest):
            await sup.handle("bad id with spaces", "x")
        stored = sup.sessions.get("a")
        assert stored is not None and stored.state == {"count": 2} and stored.messages == 2

    run(settings, commits["v1"], body)


def test_sigkill_under_load_loses_no_session(settings: Settings, commits: dict[str, str]) -> None:
    async def body(sup: Supervisor) -> dict[str, list[Any]]:
        async def killer() -> None:
            for _ in range(3):
                await asyncio.sleep(0.3)
                pids = sup.pools[commits["v1"]].pids
                if pids:
                    os.kill(random.choice(pids), signal.SIGKILL)

        done = asyncio.Event()

        async def kill_then_stop() -> None:
            try:
                await killer()
            finally:
                done.set()

        replies, _ = await asyncio.gather(load(sup, 12, 10, 0.01, done), kill_then_stop())
        assert sup.counters["worker_restarts"] >= 1
        return replies

    replies = run(settings, commits["v1"], body)
    assert_no_session_lost(replies)


def test_crash_of_a_non_idempotent_task_fails_clearly_and_is_evidence(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> None:
        await sup.handle("n", "x")
        with pytest.raises(WorkerCrashed, match="not marked idempotent"):
            await sup.handle("n", "die")
        assert (await sup.handle("n", "x")).reply["count"] == 2  # the session survived

    run(settings, commits["v1_non_idempotent"], body)
    with EvidenceStore(settings.evidence_path) as store:
        crashes = [t for t in store.tasks() if t.error and "WorkerCrashed" in t.error.type]
    assert len(crashes) == 1 and crashes[0].session_id == "n"


def test_swap_under_load_fails_nothing_and_migrates_each_session_once(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> tuple[dict[str, list[Any]], dict[str, Any]]:
        done = asyncio.Event()

        async def deployer() -> dict[str, Any]:
            await asyncio.sleep(0.3)
            try:
                return await swap.deploy(sup, commits["v2"])
            finally:
                done.set()

        replies, report = await asyncio.gather(load(sup, 10, 10, 0.02, done), deployer())
        return replies, report

    replies, report = run(settings, commits["v1"], body)
    assert report["cutover_ms"] >= 0 and report["version"] == commits["v2"]
    assert_no_session_lost(replies)
    for answers in replies.values():
        assert answers[0]["version"] == "v1" and answers[-1]["version"] == "v2"
        assert {a.get("migrations") for a in answers if a["version"] == "v2"} == {1}


def test_failed_migration_keeps_the_session_on_the_old_version(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> None:
        await sup.handle("p", "poison")
        await sup.handle("ok", "x")
        await swap.deploy(sup, commits["v2"])
        assert (await sup.handle("p", "x")).reply["version"] == "v1"
        assert (await sup.handle("p", "x")).reply == {
            "count": 3,
            "version": "v1",
            "pid": pytest.approx(0, abs=1e9),
        }
        assert (await sup.handle("ok", "x")).reply["version"] == "v2"
        assert sup.counters["migration_failures"] == 1
        assert any(e.get("event") == "migration_failed" for e in sup.events.recent)

    run(settings, commits["v1"], body)
    with EvidenceStore(settings.evidence_path) as store:
        assert any(t.error and "cannot migrate" in t.error.message for t in store.tasks())


def test_crashing_version_is_rolled_back_with_no_failed_request(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> None:
        await load(sup, 5, 3)
        await swap.deploy(sup, commits["crasher"])
        replies = await load(sup, 5, 6)  # retried on v2's warm workers, then routed there
        assert all(a["version"] == "v2" for answers in replies.values() for a in answers)
        assert sup.router is not None and sup.router.current == commits["v2"]
        assert commits["crasher"] in sup.router.failed
        assert sup.counters["automatic_rollbacks"] == 1

    run(settings, commits["v2"], body)


def test_regressing_version_is_rolled_back_by_the_health_watch(
    agent: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, commits = agent
    settings = fresh_settings(root, tmp_path / ".theseus", health_window=30.0)

    async def body(sup: Supervisor) -> dict[str, Any]:
        await load(sup, 4, 10)
        await swap.deploy(sup, commits["raiser"])
        failures = 0
        deadline = time.monotonic() + 30
        while sup.counters["automatic_rollbacks"] == 0 and time.monotonic() < deadline:
            try:
                await sup.handle(f"r{failures % 4}", "x")
            except AgentError:
                failures += 1
        assert sup.router is not None and sup.router.current == commits["v2"]
        assert (await sup.handle("r0", "x")).reply["version"] == "v2"
        return next(e for e in sup.events.recent if e["kind"] == "rollback")

    event = run(settings, commits["v2"], body)
    assert "health regression" in event["reason"] and event["rollback_ms"] < 100
    with EvidenceStore(settings.evidence_path) as store:
        assert any(t.error and t.error.type.endswith("RolledBack") for t in store.tasks())


def test_unloadable_version_is_refused_and_traffic_stays(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> None:
        with pytest.raises(DeployFailed, match="no_such_module_anywhere"):
            await swap.deploy(sup, commits["unloadable"])
        assert (await sup.handle("u", "x")).reply["version"] == "v1"

    run(settings, commits["v1"], body)


def test_manual_rollback_and_sessions_move_back(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> None:
        await sup.handle("m", "x")
        await swap.deploy(sup, commits["v2"])
        assert (await sup.handle("m", "x")).reply["version"] == "v2"
        report = await swap.rollback(sup)
        assert report["to"] == commits["v1"] and not report["automatic"]
        again = await sup.handle("m", "x")  # back to the pre-migration state on v1
        assert again.reply["version"] == "v1"
        # v1 has no hook to read v2's {"n": ...}: it gets its own state back, not a reset.
        assert again.reply["count"] == 2
        assert sup.counters["sessions_restored"] == 1

    run(settings, commits["v1"], body)


def test_a_rollback_past_a_version_without_migrate_keeps_the_state(
    settings: Settings, commits: dict[str, str]
) -> None:
    """No hook ran on the way forward, so the state kept its shape: nothing is restored."""

    async def body(sup: Supervisor) -> None:
        await sup.handle("k", "x")
        await swap.deploy(sup, commits["v1_non_idempotent"])
        assert (await sup.handle("k", "x")).reply["count"] == 2
        await swap.rollback(sup)
        again = await sup.handle("k", "x")
        assert again.reply == {**again.reply, "count": 3, "version": "v1"}
        assert sup.counters["sessions_restored"] == 0

    run(settings, commits["v1"], body)


def test_a_version_slower_per_call_is_rolled_back_on_latency(
    agent: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """SLOW sleeps 80 ms in every call: the agent's own time, not the host's queueing."""
    root, commits = agent
    settings = fresh_settings(root, tmp_path / ".theseus", health_window=30.0)

    async def body(sup: Supervisor) -> dict[str, Any]:
        await load(sup, 4, 15)
        await swap.deploy(sup, commits["slow"])
        deadline = time.monotonic() + 60
        sent = 0
        while sup.counters["automatic_rollbacks"] == 0 and time.monotonic() < deadline:
            await sup.handle(f"l{sent % 4}", "x")
            sent += 1
        return next(e for e in sup.events.recent if e["kind"] == "rollback")

    event = run(settings, commits["v2"], body)
    assert "own time" in event["reason"] and "Mann-Whitney" in event["reason"]


def test_redeploying_a_version_whose_workers_are_draining_starts_fresh_ones(
    settings: Settings, commits: dict[str, str]
) -> None:
    """Rolled back with a call in flight, its pool drains; a deploy of the same commit at
    that moment once reused the draining pool, which then closed under the live version."""

    async def body(sup: Supervisor) -> None:
        await swap.deploy(sup, commits["v2"])
        busy = asyncio.ensure_future(sup.handle("busy", {"sleep": 1.5}))
        await asyncio.sleep(0.3)
        await swap.rollback(sup)
        draining = sup.pools[commits["v2"]]
        await asyncio.sleep(0.05)  # the drain runs as its own task
        assert not draining.closed  # still finishing the busy call
        await swap.deploy(sup, commits["v2"])
        assert sup.pools[commits["v2"]] is not draining
        assert (await busy).version == commits["v2"]  # the in-flight call finished where it ran
        while not draining.closed:
            await asyncio.sleep(0.05)
        answer = await sup.handle("after", "x")  # the live version still has its workers
        assert answer.reply["version"] == "v2"

    run(settings, commits["v1"], body)
