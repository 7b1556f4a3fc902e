"""Worker processes of one version, restarted on crash under OTP restart intensity.

A pool holds ``workers_per_version`` processes of one commit. Each runs one call at a time,
so when a worker dies the pool knows exactly which message was in flight. A dead worker is
replaced at once unless the version crashed more than ``restart_intensity`` times within
``restart_period`` seconds: then the version is declared failed (as an OTP supervisor gives
up on a child) and the supervisor sends its traffic back to the last good version.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from theseus.runtime.failures import CallTimedOut, DeployFailed, Unavailable, WorkerCrashed
from theseus.runtime.isolation import WorkerProfile
from theseus.runtime.protocol import ProtocolError, encode, read_frame
from theseus.runtime.versions import VersionSpec

START_TIMEOUT = 60.0


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


class WorkerProcess:
    """One worker: a child process speaking framed msgpack over its stdin/stdout."""

    _ids = itertools.count(1)

    def __init__(
        self,
        spec: VersionSpec,
        env: dict[str, str],
        log: Path | None,
        profile: WorkerProfile | None = None,
    ) -> None:
        self.spec, self.env, self.log, self.profile = spec, env, log, profile
        self.proc: asyncio.subprocess.Process | None = None
        self.idempotent = False
        self.alive = False
        self._pending: asyncio.Future[dict[str, Any]] | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._on_exit: Callable[[WorkerProcess], None] | None = None
        self._seq = next(self._ids)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self, on_exit: Callable[[WorkerProcess], None]) -> None:
        """Spawn, wait for ``ready``, then watch for the process to end."""
        argv = [sys.executable, "-m", "theseus.runtime.worker", "--root", str(self.spec.root)]
        argv += ["--entrypoint", self.spec.entrypoint]
        if self.spec.migrate:
            argv += ["--migrate", self.spec.migrate]
        for entry in self.spec.python_path:
            argv += ["--python-path", entry]
        seccomp_fd: int | None = None
        env = self.env
        if self.profile is not None:
            tree = self.spec.tree or self.spec.root
            argv, seccomp_fd = self.profile.command(argv, tree, self.spec.root)
            env = self.profile.environment(env)
        stderr: Any = None
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            stderr = self.log.open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=env,
                limit=2**26,
                pass_fds=() if seccomp_fd is None else (seccomp_fd,),
            )
        finally:
            if stderr is not None:
                stderr.close()
            if seccomp_fd is not None:
                os.close(seccomp_fd)
        assert self.proc.stdout is not None
        try:
            hello = await asyncio.wait_for(read_frame(self.proc.stdout), START_TIMEOUT)
        except (EOFError, ProtocolError, TimeoutError):
            self.kill()
            await self.proc.wait()
            raise DeployFailed(
                f"a worker of {self.spec.short} exited before it was ready"
                f" (exit code {self.proc.returncode})",
                hint=f"see {self.log}" if self.log else None,
            ) from None
        if hello.get("op") != "ready":
            self.kill()
            await self.proc.wait()
            error = hello.get("error") or {}
            raise DeployFailed(
                f"version {self.spec.short} cannot load {self.spec.entrypoint}:"
                f" {error.get('type')}: {error.get('message')}",
                hint="fix the agent's import error and deploy a new commit",
            )
        self.idempotent = bool(hello.get("idempotent"))
        self.alive = True
        self._on_exit = on_exit
        self._reader_task = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            while True:
                frame = await read_frame(self.proc.stdout)
                if self._pending is not None and not self._pending.done():
                    self._pending.set_result(frame)
        except (EOFError, ProtocolError, ConnectionError):
            pass
        self.alive = False
        self.kill()
        code = await self.proc.wait()
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # lets asyncio close the transport now, not at GC
        if self._pending is not None and not self._pending.done():
            self._pending.set_exception(
                WorkerCrashed(f"worker {self.pid} of {self.spec.short} died (exit code {code})")
            )
        if self._on_exit is not None:
            self._on_exit(self)

    async def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its answer; WorkerCrashed if the process dies."""
        if not self.alive or self.proc is None or self.proc.stdin is None:
            raise WorkerCrashed(f"worker of {self.spec.short} is not running")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending = future
        try:
            self.proc.stdin.write(encode(request))
            await self.proc.stdin.drain()
        except (ConnectionError, RuntimeError):
            pass  # the read loop reports the death through the future
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            self.kill()  # a stuck call cannot be cancelled inside the process
            raise CallTimedOut(
                f"version {self.spec.short} did not answer within {timeout:g} s",
                hint="raise runtime.call_timeout if the agent is legitimately slow",
            ) from None
        finally:
            self._pending = None

    def kill(self) -> None:
        """SIGKILL by pid. Not ``Process.kill()``: that polls, and polling reaps the child
        behind asyncio's child watcher, which then loses the real exit code."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)

    async def stop(self, grace: float = 2.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``grace`` seconds."""
        self._on_exit = None
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                proc.stdin.write(encode({"op": "stop"}))
                await proc.stdin.drain()
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            self.kill()
            await proc.wait()
        if self._reader_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task


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
    ) -> None:
        self.spec, self.size, self.env, self.log = spec, size, env, log
        self.profile = profile
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
        workers = [
            WorkerProcess(self.spec, self.env, self.log, self.profile) for _ in range(self.size)
        ]
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
        fresh = WorkerProcess(self.spec, self.env, self.log, self.profile)
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

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop accepting calls and stop every worker (in-flight calls are cut off)."""
        self.closed = True
        async with self._cond:
            self._cond.notify_all()
        await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)

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


def worker_env(spec: VersionSpec, base: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """The environment a worker of ``spec`` runs with."""
    env = dict(base)
    env.update(extra)
    env["THESEUS_CODE_VERSION"] = spec.commit
    env["THESEUS_SUPERVISOR_PID"] = str(os.getpid())
    return env
