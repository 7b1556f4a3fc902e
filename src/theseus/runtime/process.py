"""One worker process of one version, however it was started, speaking the worker protocol.

A cold worker is a child process on its stdin/stdout pipes (``python -m
theseus.runtime.worker``, wrapped in the worker profile); a warm one is forked by the pool's
warm parent (:mod:`theseus.runtime.warm`) and speaks on a socket. Either way the supervisor
sees the same object: ``start`` until ``ready``, one ``call`` at a time, ``kill`` and ``stop``,
and an exit callback the pool restarts it from.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from theseus.runtime.failures import CallTimedOut, DeployFailed, WorkerCrashed
from theseus.runtime.isolation import WorkerProfile
from theseus.runtime.protocol import ProtocolError, encode, read_frame
from theseus.runtime.versions import VersionSpec
from theseus.runtime.warm import ForkedChild, WarmParent

__all__ = ["START_TIMEOUT", "WorkerProcess"]

START_TIMEOUT = 60.0


class _Spawned:
    """A cold worker's process handle (the same face as :class:`.warm.ForkedChild`)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL by pid. Not ``Process.kill()``: that polls, and polling reaps the child
        behind asyncio's child watcher, which then loses the real exit code."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)

    async def wait(self) -> int:
        return await self.proc.wait()


class WorkerProcess:
    """One worker, speaking framed msgpack: a cold child process on its stdin/stdout, or a
    child forked by the pool's warm parent on a socket (:mod:`theseus.runtime.warm`)."""

    _ids = itertools.count(1)

    def __init__(
        self,
        spec: VersionSpec,
        env: dict[str, str],
        log: Path | None,
        profile: WorkerProfile | None = None,
        parent: WarmParent | None = None,
    ) -> None:
        self.spec, self.env, self.log, self.profile = spec, env, log, profile
        self.parent = parent
        self.handle: _Spawned | ForkedChild | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.idempotent = False
        self.alive = False
        self.forked = False
        self.imported: list[str] = []
        self._pending: asyncio.Future[dict[str, Any]] | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._on_exit: Callable[[WorkerProcess], None] | None = None
        self._seq = next(self._ids)

    @property
    def pid(self) -> int | None:
        return self.handle.pid if self.handle else None

    async def start(self, on_exit: Callable[[WorkerProcess], None]) -> None:
        """Fork from the warm parent (or spawn cold), wait for ``ready``, then watch it."""
        if self.parent is not None and self.parent.alive:
            sock, self.handle = await self.parent.fork(self.log or Path(os.devnull))
            self.reader, self.writer = await asyncio.open_connection(sock=sock, limit=2**26)
            self.forked = True
        else:
            await self._spawn_cold()
        assert self.reader is not None and self.handle is not None
        try:
            hello = await asyncio.wait_for(read_frame(self.reader), START_TIMEOUT)
        except asyncio.CancelledError:
            # The pool closed while this one started: it must not live on, and its pipes
            # must be closed while the loop still runs (else they linger past it).
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._abandon(), 5.0)
            raise
        except (EOFError, ProtocolError, TimeoutError, ConnectionError):
            code = await self._abandon()
            raise DeployFailed(
                f"a worker of {self.spec.short} exited before it was ready (exit code {code})",
                hint=f"see {self.log}" if self.log else None,
            ) from None
        if hello.get("op") != "ready":
            await self._abandon()
            error = hello.get("error") or {}
            raise DeployFailed(
                f"version {self.spec.short} cannot load {self.spec.entrypoint}:"
                f" {error.get('type')}: {error.get('message')}",
                hint="fix the agent's import error and deploy a new commit",
            )
        self.idempotent = bool(hello.get("idempotent"))
        self.imported = [str(n) for n in hello.get("imported") or []]
        self.alive = True
        self._on_exit = on_exit
        self._reader_task = asyncio.create_task(self._read_loop())

    async def _abandon(self) -> int:
        """Kill a worker that never became ready, and close its end of the pipe (else the
        transport lingers until garbage collection, after the loop may be gone)."""
        assert self.handle is not None
        self.kill()
        code = await self.handle.wait()
        if self.writer is not None:
            self.writer.close()
        if self.reader is not None:  # read the dead pipe to its end, so its transport closes
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader.read(), 2.0)
        return code

    async def _spawn_cold(self) -> None:
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
            proc = await asyncio.create_subprocess_exec(
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
        self.handle = _Spawned(proc)
        self.reader, self.writer = proc.stdout, proc.stdin

    async def _read_loop(self) -> None:
        assert self.reader is not None and self.handle is not None
        try:
            while True:
                frame = await read_frame(self.reader)
                if self._pending is not None and not self._pending.done():
                    self._pending.set_result(frame)
        except (EOFError, ProtocolError, ConnectionError):
            pass
        self.alive = False
        self.kill()
        code = await self.handle.wait()
        if self.writer is not None:
            self.writer.close()  # lets asyncio close the transport now, not at GC
        if self._pending is not None and not self._pending.done():
            self._pending.set_exception(
                WorkerCrashed(f"worker {self.pid} of {self.spec.short} died (exit code {code})")
            )
        if self._on_exit is not None:
            self._on_exit(self)

    async def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its answer; WorkerCrashed if the process dies."""
        if not self.alive or self.writer is None:
            raise WorkerCrashed(f"worker of {self.spec.short} is not running")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending = future
        try:
            self.writer.write(encode(request))
            await self.writer.drain()
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
        if self.handle is not None:
            self.handle.kill()

    async def stop(self, grace: float = 2.0) -> None:
        """Ask the worker to exit; kill it if it does not within ``grace`` seconds."""
        self._on_exit = None
        handle = self.handle
        if handle is None:
            return
        running = handle.returncode is None
        if running and self.writer is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                self.writer.write(encode({"op": "stop"}))
                await self.writer.drain()
        if self.writer is not None:
            # Always, even for a worker that already died or whose pipe broke: an unclosed
            # pipe transport outlives the loop and is only reclaimed by the garbage collector.
            self.writer.close()
        if running:
            try:
                await asyncio.wait_for(handle.wait(), grace)
            except TimeoutError:
                self.kill()
                await handle.wait()
        if self._reader_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
