"""Worker processes of one version, restarted on crash under OTP restart intensity.

A pool holds ``workers_per_version`` processes of one commit. Each runs one call at a time,
so when a worker dies the pool knows exactly which message was in flight. A dead worker is
replaced at once unless the version crashed more than ``restart_intensity`` times within
``restart_period`` seconds: then the version is declared failed (as an OTP supervisor gives
up on a child) and the supervisor sends its traffic back to the last good version.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from theseus.runtime.failures import Unavailable
from theseus.runtime.isolation import WorkerProfile
from theseus.runtime.process import START_TIMEOUT, WorkerProcess
from theseus.runtime.versions import VersionSpec
from theseus.runtime.warm import WarmParent


class RestartIntensity:
    """At most ``limit`` restarts within ``period`` seconds (OTP's MaxR / MaxT)."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = limit, period
        self._times: deque[float] = deque()

    def allow(self, now: float | None = None) -> bool:
        """Record one restart; False once the limit within the period is exceeded."""
        now = time.monotonic() if now is None else now
        self._times.append(now)
        while self._times and now - self._times[0] > self.period:
            self._times.popleft()
        return len(self._times) <= self.limit


class VersionPool:
    """The workers of one version; hands out idle workers and replaces dead ones."""

    def __init__(
        self,
        spec: VersionSpec,
        *,
        size: int,
        env: dict[str, str],
        intensity: RestartIntensity,
        call_timeout: float,
        on_restart: Callable[[VersionPool], None],
        on_failed: Callable[[VersionPool], None],
        log: Path | None = None,
        profile: WorkerProfile | None = None,
        parent: WarmParent | None = None,
    ) -> None:
        self.spec, self.size, self.env, self.log = spec, size, env, log
        self.profile, self.parent = profile, parent
        self.intensity, self.call_timeout = intensity, call_timeout
        self.on_restart, self.on_failed = on_restart, on_failed
        self.workers: list[WorkerProcess] = []
        self.idle: deque[WorkerProcess] = deque()
        self.closed = False
        self.retiring = False  # draining: finishes what it has, takes nothing new
        self.failed = False
        self.restarts = 0
        self._cond = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def version(self) -> str:
        return self.spec.commit

    @property
    def idempotent(self) -> bool:
        return any(w.idempotent for w in self.workers)

    @property
    def serving(self) -> bool:
        """Whether new calls may be routed here: not closed, and not draining to close."""
        return not self.closed and not self.retiring

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.alive and w.pid is not None]

    async def start(self) -> None:
        """Start every worker and ping each once, so the pool is warm when this returns."""
        workers = [self._new_worker() for _ in range(self.size)]
        results = await asyncio.gather(
            *(w.start(self._worker_exited) for w in workers), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        self.workers = [w for w, r in zip(workers, results, strict=True) if r is None]
        if errors:
            await self.close()
            raise errors[0]
        for worker in self.workers:
            await worker.call({"op": "ping"}, START_TIMEOUT)
        async with self._cond:
            self.idle.extend(self.workers)
            self._cond.notify_all()

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one request on an idle worker of this version."""
        worker = await self._acquire()
        try:
            return await worker.call(request, self.call_timeout)
        finally:
            if worker.alive:
                async with self._cond:
                    self.idle.append(worker)
                    self._cond.notify()

    async def _acquire(self) -> WorkerProcess:
        async with self._cond:
            while True:
                if self.closed:
                    raise Unavailable(f"version {self.spec.short} is not serving")
                while self.idle:
                    worker = self.idle.popleft()
                    if worker.alive:
                        return worker
                await self._cond.wait()

    def _worker_exited(self, worker: WorkerProcess) -> None:
        if self.closed:
            return
        self.restarts += 1
        if not self.intensity.allow():
            self.failed = True
            self._spawn(self.close())
            self.on_failed(self)
            return
        self.on_restart(self)
        self._spawn(self._replace(worker))

    async def _replace(self, dead: WorkerProcess) -> None:
        fresh = self._new_worker()
        try:
            await fresh.start(self._worker_exited)
        except Exception:
            if not self.closed:
                self._worker_exited(dead)  # a failed restart counts as another crash
            return
        if self.closed:
            await fresh.stop()
            return
        async with self._cond:
            self.workers = [w for w in self.workers if w is not dead] + [fresh]
            self.idle.append(fresh)
            self._cond.notify()

    def _new_worker(self) -> WorkerProcess:
        """Forked from the warm parent while it lives; cold once it is gone."""
        parent = self.parent if self.parent is not None and self.parent.alive else None
        return WorkerProcess(self.spec, self.env, self.log, self.profile, parent)

    @property
    def forked(self) -> bool:
        """Whether this pool's workers were forked from a warm parent."""
        return any(w.forked for w in self.workers)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop accepting calls and stop every worker (in-flight calls are cut off)."""
        self.closed = True
        async with self._cond:
            self._cond.notify_all()
        # A replacement still starting would otherwise come up after this and outlive us.
        pending = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)
        if self.parent is not None:
            await self.parent.close()

    async def drain_and_close(self, timeout: float) -> None:
        """Wait (up to ``timeout``) for in-flight calls to finish, then close. From the
        first moment the pool is retiring, so nothing new is routed here, and a deploy of
        the same version starts a fresh pool rather than reusing this one."""
        self.retiring = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.idle) < len(
            [w for w in self.workers if w.alive]
        ):
            await asyncio.sleep(0.01)
        await self.close()


def worker_env(
    spec: VersionSpec | None, base: dict[str, str], extra: dict[str, str]
) -> dict[str, str]:
    """The environment a worker of ``spec`` runs with (a warm parent: of no version yet)."""
    env = dict(base)
    env.update(extra)
    env["THESEUS_CODE_VERSION"] = spec.commit if spec is not None else "unassigned"
    env["THESEUS_SUPERVISOR_PID"] = str(os.getpid())
    return env
