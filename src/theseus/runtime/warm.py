"""Warm deploys: a new version's workers forked from a parent that is already running.

A cold worker pays for the sandbox, the interpreter and the runtime's imports before it
loads a line of agent code: about half a second, more on a busy host. So the supervisor
keeps one *spare* parent (:mod:`theseus.runtime.zygote`) started ahead of need, under the
same worker profile, with an empty *slot* folder bound into its view where a version's tree
will go. A deploy fills the slot with the version's tree (hard links to the extracted
commit), tells the spare which version it now is, and forks the pool's workers from it; the
spare becomes that pool's parent (restarts fork from it too) and a new spare is started in
the background for the next deploy. Each worker is in the same confinement as a cold one:
it is the same sandbox, entered once.

Cold spawning stays the fallback, chosen per pool: when there is no spare yet, when warm
deploys are off (``[runtime] warm_deploys = false``), when the agent's imports start
threads (the parent cannot fork safely; one event says so), or when the parent dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import msgpack

from theseus.runtime.failures import DeployFailed
from theseus.runtime.isolation import WorkerProfile
from theseus.runtime.versions import VersionSpec

__all__ = ["ForkedChild", "WarmParent"]

START_TIMEOUT = 60.0
MAX_MESSAGE = 64 * 1024


class ForkedChild:
    """A worker forked by a :class:`WarmParent`: the process handle :mod:`.pool` drives."""

    def __init__(self, parent: WarmParent, child: int, pid: int | None) -> None:
        self.parent, self.child, self.pid = parent, child, pid
        self.returncode: int | None = None
        self._exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def kill(self) -> None:
        """SIGKILL the child; through its parent, which alone sees its pid namespace."""
        if self.returncode is None:
            self.parent.kill(self.child)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def exited(self, code: int) -> None:
        if not self._exited.done():
            self.returncode = code
            self._exited.set_result(code)


class WarmParent:
    """The supervisor's end of one zygote: start it, give it a version, fork workers."""

    def __init__(
        self, store: Path, env: dict[str, str], profile: WorkerProfile | None, log: Path
    ) -> None:
        self.store, self.env, self.profile, self.log = store, env, profile, log
        self.slot: Path | None = None
        self.spec: VersionSpec | None = None
        self.forkable = False
        self.reason = ""
        self.proc: asyncio.subprocess.Process | None = None
        self._control: socket.socket | None = None
        self._replies: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._children: dict[int, ForkedChild] = {}
        self._ids = 0
        self._closed = False

    @property
    def alive(self) -> bool:
        return not self._closed and self.proc is not None and self.proc.returncode is None

    async def start(self, preload: list[str]) -> None:
        """Spawn the parent in its confinement and wait until it is warm; DeployFailed if not."""
        self.store.mkdir(parents=True, exist_ok=True)
        self.slot = Path(tempfile.mkdtemp(prefix=".slot-", dir=self.store))
        self.slot.chmod(0o755)  # mkdtemp's 0700 would hide it from the worker uid
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [
            sys.executable,
            "-m",
            "theseus.runtime.zygote",
            "--control-fd",
            str(theirs.fileno()),
        ]
        for name in preload:
            argv += ["--preload", name]
        env, seccomp_fd = dict(self.env), None
        if self.profile is not None:
            argv, seccomp_fd = self.profile.command(argv, self.slot, self.slot)
            env = self.profile.environment(env)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        fds = [theirs.fileno()] + ([] if seccomp_fd is None else [seccomp_fd])
        try:
            with self.log.open("ab") as log:
                self.proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                    env=env, pass_fds=fds,
                )  # fmt: skip
        finally:
            theirs.close()
            if seccomp_fd is not None:
                os.close(seccomp_fd)
        ours.setblocking(False)
        self._control = ours
        asyncio.get_running_loop().add_reader(ours.fileno(), self._on_control)
        hello = await self._reply("ready")
        self.forkable, self.reason = bool(hello.get("forkable")), str(hello.get("reason") or "")

    async def assign(self, spec: VersionSpec) -> VersionSpec:
        """Make this parent ``spec``'s: its tree goes into the slot, and the returned spec
        (the same version, rooted in the slot) is what its workers run."""
        assert self.slot is not None and spec.tree is not None
        await asyncio.to_thread(_link_tree, spec.tree, self.slot)
        root = self.slot / spec.root.relative_to(spec.tree)
        slotted = VersionSpec(
            commit=spec.commit, root=root, entrypoint=spec.entrypoint, migrate=spec.migrate,
            python_path=spec.python_path, tree=self.slot,
        )  # fmt: skip
        message = {
            "op": "load",
            "ref": "load",
            "root": str(root),
            "entrypoint": spec.entrypoint,
            "migrate": spec.migrate,
            "python_path": list(spec.python_path),
            "version": spec.commit,
        }
        self._send(message)
        await self._reply("load")
        self.spec = slotted
        return slotted

    async def fork(self, log: Path) -> tuple[socket.socket, ForkedChild]:
        """A new worker: our end of its socket and its handle. DeployFailed if the parent
        cannot fork (it died, or was never given a version)."""
        if not self.alive or self.spec is None:
            raise DeployFailed("the warm parent is not running")
        self._ids += 1
        child_id = self._ids
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log.parent.mkdir(parents=True, exist_ok=True)
        log_fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            self._send({"op": "fork", "child": child_id}, [theirs.fileno(), log_fd])
        finally:
            theirs.close()
            os.close(log_fd)
        reply = await self._reply(("fork", child_id))
        if reply.get("pid") is None:
            ours.close()
            raise DeployFailed(f"the warm parent could not fork: {reply.get('error')}")
        handle = ForkedChild(self, child_id, _host_pid(self.proc, int(reply["pid"])))
        self._children[child_id] = handle
        return ours, handle

    def kill(self, child: int) -> None:
        if self.alive:
            with contextlib.suppress(OSError):
                self._send({"op": "kill", "child": child})

    async def close(self) -> None:
        """End the parent (it kills its children) and remove its slot."""
        if self._closed:
            return
        self._closed = True
        if self._control is not None:
            with contextlib.suppress(ValueError, RuntimeError):
                asyncio.get_running_loop().remove_reader(self._control.fileno())
            self._control.close()
        if self.proc is not None and self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), 2.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                await self.proc.wait()
        self._fail_waiters("the warm parent was closed")
        if self.slot is not None:
            await asyncio.to_thread(_remove_tree, self.slot)

    # -- the control socket ---------------------------------------------------------------

    def _send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        assert self._control is not None
        data = msgpack.packb(message, use_bin_type=True)
        self._control.setblocking(True)  # a few hundred bytes: never blocks for long
        try:
            socket.send_fds(self._control, [data], fds) if fds else self._control.send(data)
        except OSError as exc:
            raise DeployFailed(f"the warm parent is gone: {exc}") from None
        finally:
            self._control.setblocking(False)

    async def _reply(self, key: Any) -> dict[str, Any]:
        future = self._replies.setdefault(key, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(future), START_TIMEOUT)
        except TimeoutError:
            raise DeployFailed(
                f"the warm parent did not answer within {START_TIMEOUT:g} s"
            ) from None
        finally:
            self._replies.pop(key, None)

    def _on_control(self) -> None:
        assert self._control is not None
        while True:
            try:
                data = self._control.recv(MAX_MESSAGE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._gone()
                return
            with contextlib.suppress(Exception):
                self._dispatch(msgpack.unpackb(data, raw=False))

    def _dispatch(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "exited":
            child = self._children.pop(int(message.get("child", 0)), None)
            if child is not None:
                child.exited(int(message.get("code", -1)))
            return
        key: Any = {"ready": "ready", "loaded": message.get("ref")}.get(str(op))
        if op == "forked":
            key = ("fork", int(message.get("child", 0)))
        future = self._replies.setdefault(key, asyncio.get_running_loop().create_future())
        if not future.done():
            future.set_result(message)

    def _gone(self) -> None:
        """The parent ended: every child went with it (their parent-death signal)."""
        assert self._control is not None
        with contextlib.suppress(ValueError, RuntimeError):
            asyncio.get_running_loop().remove_reader(self._control.fileno())
        self._fail_waiters("the warm parent exited")
        for child in self._children.values():
            child.exited(-signal.SIGKILL)
        self._children.clear()

    def _fail_waiters(self, why: str) -> None:
        for future in self._replies.values():
            if not future.done():
                future.set_exception(DeployFailed(why))


def _link_tree(source: Path, slot: Path) -> None:
    """Put ``source``'s files into ``slot`` as hard links (copies across file systems); the
    extracted tree is read-only, so sharing its inodes shares nothing writable."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, slot, copy_function=link, symlinks=True, dirs_exist_ok=True)
    slot.chmod(0o555)


def _remove_tree(tree: Path) -> None:
    for folder, dirs, _files in os.walk(tree):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(folder, name), 0o755)
    with contextlib.suppress(OSError):
        tree.chmod(0o755)
    shutil.rmtree(tree, ignore_errors=True)


def _host_pid(proc: asyncio.subprocess.Process | None, inner: int) -> int | None:
    """The host pid of a process the parent forked: under bwrap it has its own pid namespace,
    so its pid there means nothing here. Found by walking the parent's descendants and
    matching the innermost ``NSpid``; None when /proc does not say (then only the parent can
    signal it, which :meth:`ForkedChild.kill` does anyway)."""
    if proc is None:
        return None
    todo, seen = [proc.pid], 0
    while todo and seen < 64:
        pid = todo.pop()
        seen += 1
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        nspid = next(
            (line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), []
        )
        if pid != proc.pid and nspid and int(nspid[-1]) == inner:
            return pid
        todo.extend(int(c) for c in children)
    return None
