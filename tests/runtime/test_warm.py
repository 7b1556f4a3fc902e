"""Warm deploys: a deployed version's workers fork from a parent started ahead of need.

Each test checks an outcome a user depends on: the new version answers (fresh code, not the
parent's), a forked worker that dies or hangs is replaced, the parent's own death falls back
to cold workers without a dropped session, an agent whose imports start threads is served
cold-safe, and nothing outlives the supervisor.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from agentrepo import fresh_settings
from supervised import run, running

from theseus.config import Settings
from theseus.runtime.deploy import deploy
from theseus.runtime.failures import CallTimedOut
from theseus.runtime.supervisor import Supervisor
from theseus.runtime.warm import WarmParent

pytestmark = pytest.mark.e2e


async def _wait_until(predicate: object, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if callable(predicate) and predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


def test_a_deploy_forks_its_workers_and_serves_the_new_code(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> None:
        assert (await sup.handle("a", "x")).reply["version"] == "v1"
        report = await deploy(sup, commits["v2"])
        assert report["forked"] is True
        reply = (await sup.handle("a", "x")).reply
        assert reply["version"] == "v2" and reply["count"] == 2 and reply["migrations"] == 1
        pool = sup.pools[commits["v2"]]
        assert len(pool.pids) == 2 and all(running(pid) for pid in pool.pids)
        # the parent never imported the agent: a second deploy of other code is fresh too
        report = await deploy(sup, commits["v1_non_idempotent"])
        assert report["forked"] is True
        assert (await sup.handle("b", "x")).reply["version"] == "v1"

    run(settings, commits["v1"], body)


def test_a_killed_forked_worker_is_replaced_by_a_fork(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> None:
        await deploy(sup, commits["v2"])
        pool = sup.pools[commits["v2"]]
        victim = pool.pids[0]
        os.kill(victim, signal.SIGKILL)
        await _wait_until(lambda: len(pool.pids) == 2 and victim not in pool.pids)
        assert sup.counters["worker_restarts"] == 1
        assert all(w.forked for w in pool.workers)
        for n in range(4):
            assert (await sup.handle(f"s{n}", "x")).reply["version"] == "v2"

    run(settings, commits["v1"], body)


def test_a_hung_forked_worker_is_killed_through_its_parent(
    agent: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, commits = agent
    settings = fresh_settings(root, tmp_path / ".theseus", call_timeout=1.0)

    async def body(sup: Supervisor) -> None:
        await deploy(sup, commits["v2"])
        pool = sup.pools[commits["v2"]]
        with pytest.raises(CallTimedOut):
            await sup.handle("h", {"sleep": 60})
        await _wait_until(lambda: sup.counters["worker_restarts"] >= 1 and len(pool.pids) == 2)
        assert (await sup.handle("h2", "x")).reply["version"] == "v2"

    run(settings, commits["v1"], body)


def test_when_the_parent_dies_its_pool_goes_on_cold(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> None:
        await deploy(sup, commits["v2"])
        pool = sup.pools[commits["v2"]]
        assert pool.parent is not None and pool.parent.proc is not None
        os.kill(pool.parent.proc.pid, signal.SIGKILL)
        await _wait_until(lambda: len(pool.pids) == 2 and not any(w.forked for w in pool.workers))
        for n in range(4):
            assert (await sup.handle(f"c{n}", "x")).reply["version"] == "v2"

    run(settings, commits["v1"], body)


def test_warm_deploys_off_spawns_cold(agent: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, commits = agent
    settings = fresh_settings(root, tmp_path / ".theseus", warm_deploys=False)

    async def body(sup: Supervisor) -> None:
        assert (await deploy(sup, commits["v2"]))["forked"] is False
        assert (await sup.handle("a", "x")).reply["version"] == "v2"

    run(settings, commits["v1"], body)


def test_nothing_of_a_warm_deploy_outlives_the_supervisor(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def go() -> list[int]:
        sup = Supervisor(settings)
        await sup.start(commits["v1"])
        await deploy(sup, commits["v2"])
        parents = [p.parent.proc.pid for p in sup.pools.values() if p.parent and p.parent.proc]
        pending = sup.spares.pending  # the next deploy's spare, left to close() to stop
        spare = await asyncio.shield(pending) if pending is not None else None
        if spare is not None and spare.proc is not None:
            parents.append(spare.proc.pid)
        pids = [pid for pool in sup.pools.values() for pid in pool.pids] + parents
        await sup.close()
        return pids

    pids = asyncio.run(asyncio.wait_for(go(), 120))
    assert len(pids) >= 5  # 2 + 2 workers, the v2 pool's parent (and the spare)
    assert not [pid for pid in pids if running(pid)]
    assert not list((settings.state_dir / "versions").glob(".slot-*"))


THREADED = (
    "import threading\nthreading.Thread(target=threading.Event().wait, daemon=True).start()\n"
)


def test_a_parent_whose_preloads_start_threads_refuses_to_fork(tmp_path: Path) -> None:
    """Forking a process with threads can deadlock the child; the parent says so instead."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "starts_a_thread.py").write_text(THREADED)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "lib")}

    async def go() -> tuple[bool, str, bool]:
        unsafe = WarmParent(tmp_path / "store", env, None, tmp_path / "log")
        safe = WarmParent(tmp_path / "store", env, None, tmp_path / "log")
        try:
            await unsafe.start(["starts_a_thread"])
            await safe.start(["json"])
            return unsafe.forkable, unsafe.reason, safe.forkable
        finally:
            await unsafe.close()
            await safe.close()

    forkable, reason, safe = asyncio.run(asyncio.wait_for(go(), 60))
    assert not forkable and "threads" in reason
    assert safe


def test_an_agent_importing_a_thread_starter_is_still_deployed_warm(
    tmp_path: Path, agent: tuple[Path, dict[str, str]]
) -> None:
    """The live version imports a library that starts a thread: the spare that preloads it
    cannot fork, so the supervisor starts one without the preloads, and the deploy forks."""
    root = tmp_path / "agent"
    subprocess.run(["git", "clone", "-q", str(agent[0]), str(root)], check=True)
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "starts_a_thread.py").write_text(THREADED)
    app = root / "agent" / "app.py"
    app.write_text("import starts_a_thread\n" + app.read_text())
    (root / "theseus.toml").write_text(
        (root / "theseus.toml").read_text() + 'worker_isolation = "none"\n'
    )
    git = ["git", "-C", str(root), "-c", "user.email=t@e", "-c", "user.name=t"]
    subprocess.run([*git, "commit", "-qam", "imports a thread starter"], check=True)
    first = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                           text=True).stdout.strip()  # fmt: skip
    (root / "agent" / "__init__.py").write_text("# v2\n")
    subprocess.run([*git, "commit", "-qam", "v2"], check=True)
    second = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    settings = fresh_settings(root, tmp_path / ".theseus")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(lib), *sys.path])}

    async def go() -> tuple[list[bool], list[dict[str, object]], str]:
        sup = Supervisor(settings, env=env)
        await sup.start(first)
        try:
            forked = [(await deploy(sup, ref))["forked"] for ref in (second, first, second)]
            reply = (await sup.handle("t", "x")).reply
            return forked, list(sup.events.recent), reply["version"]
        finally:
            await sup.close()

    forked, events, version = asyncio.run(asyncio.wait_for(go(), 120))
    assert forked[0]  # later deploys may reuse a pool still warm; the first cannot
    assert version == "v1"
    said = [e for e in events if e.get("event") == "warm_preload_off"]
    assert len(said) == 1 and "threads" in str(said[0]["reason"])  # said once, not per deploy
    assert not [e for e in events if e.get("event") == "warm_deploys_off"]
