"""A warm parent: the process a version's workers are forked from, inside their confinement.

Started by the supervisor (:mod:`theseus.runtime.warm`) as ``python -m
theseus.runtime.zygote --control-fd N [--preload MODULE ...]`` under the same worker
profile as a cold worker, *before* anyone knows which version it will run. It imports the
worker runtime, the evidence SDK and the third-party modules the live version uses
(``--preload``; never modules of the agent itself), then waits on its control socket
(``SOCK_SEQPACKET``: one msgpack message per packet, file descriptors attached):

* ``load`` names the version it is for (its tree has meanwhile been placed in the folder
  bound into this sandbox); nothing of it is imported here, so every child loads it fresh;
* ``fork`` carries a worker socket and a log descriptor: a child is forked that loads the
  version and serves it on that socket exactly as a cold worker serves its pipes;
* ``kill`` SIGKILLs a child (a call that timed out); a child that ends is reported
  (``exited``, with its exit status) as soon as it is reaped.

Why forking is safe here: the parent is single-threaded (checked after the preloads: a
module that starts a thread at import makes it report ``forkable: false``, and the
supervisor spawns cold), it never runs agent code, and a child asks for SIGKILL when the
parent dies. When the control socket closes, the parent kills its children and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import select
import signal
import socket
import sys
import threading
import traceback
from typing import Any

import msgpack

from theseus.runtime import worker

MAX_MESSAGE = 64 * 1024
MAX_FDS = 2


def send(control: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """One control message (blocking; messages are small)."""
    data = msgpack.packb(message, use_bin_type=True)
    if fds:
        socket.send_fds(control, [data], fds)
    else:
        control.send(data)


def _preload(names: list[str]) -> str | None:
    """Import what the live version used from outside its tree; why forking is unsafe, or None."""
    for name in names:
        with contextlib.suppress(BaseException):
            importlib.import_module(name)
    extra = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if extra:
        return f"importing the agent's modules starts threads ({', '.join(extra[:3])})"
    return None


class Parent:
    """The control loop: forks, kills and reaps children; never runs agent code itself."""

    def __init__(self, control: socket.socket, wake: int) -> None:
        self.control, self.wake = control, wake
        self.version: dict[str, Any] | None = None
        self.children: dict[int, int] = {}  # pid -> the supervisor's child id
        self.pid = os.getpid()

    def loop(self) -> int:
        while True:
            readable, _, _ = select.select([self.control.fileno(), self.wake], [], [])
            if self.wake in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self.wake, 512)
                self._reap()
            if self.control.fileno() in readable:
                try:
                    data, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, MAX_FDS)
                except (ConnectionError, OSError):
                    data, fds = b"", []
                if not data:
                    self._kill_all()
                    return 0
                try:
                    self._handle(msgpack.unpackb(data, raw=False), fds)
                finally:
                    for fd in fds:
                        with contextlib.suppress(OSError):
                            os.close(fd)

    def _handle(self, message: dict[str, Any], fds: list[int]) -> None:
        op = message.get("op")
        if op == "load":
            self.version = {k: message.get(k) for k in ("root", "entrypoint", "migrate", "version")}
            self.version["python_path"] = list(message.get("python_path") or ["."])
            send(self.control, {"op": "loaded", "ref": message.get("ref")})
        elif op == "fork":
            child = int(message.get("child", 0))
            if self.version is None or len(fds) != MAX_FDS:
                send(self.control, {"op": "forked", "child": child, "pid": None,
                                    "error": "no version loaded or descriptors missing"})  # fmt: skip
                return
            pid = os.fork()
            if pid == 0:
                self._child(fds[0], fds[1])  # never returns
            self.children[pid] = child
            send(self.control, {"op": "forked", "child": child, "pid": pid})
        elif op == "kill":
            for pid, child in list(self.children.items()):
                if child == message.get("child"):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    def _child(self, sock: int, log: int) -> None:
        code = 70
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self.control.close()
            os.close(self.wake)
            gc.unfreeze()
            worker.die_with(self.pid)
            os.dup2(log, 1)
            os.dup2(log, 2)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            assert self.version is not None
            os.environ["THESEUS_CODE_VERSION"] = str(self.version["version"])
            code = worker.run(
                sock,
                sock,
                str(self.version["root"]),
                str(self.version["entrypoint"]),
                self.version["migrate"],
                self.version["python_path"],
            )
        except BaseException:
            with contextlib.suppress(BaseException):
                traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is not None:
                code = os.waitstatus_to_exitcode(status)
                with contextlib.suppress(OSError):
                    send(self.control, {"op": "exited", "child": child, "code": code})

    def _kill_all(self) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theseus-zygote")
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--preload", action="append", default=[])
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    worker.die_with(int(os.environ.get("THESEUS_SUPERVISOR_PID") or 0) or None)
    control = socket.socket(fileno=args.control_fd)
    with contextlib.suppress(ImportError):
        importlib.import_module("theseus.evidence.sdk")  # what nearly every agent imports
    unsafe = _preload(args.preload)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    gc.collect()
    gc.freeze()  # children share these pages instead of copying them at the next collection
    ready = {"op": "ready", "pid": os.getpid(), "forkable": unsafe is None, "reason": unsafe}
    send(control, ready)
    if unsafe is not None:
        return 0  # the supervisor spawns cold; nothing here may fork
    return Parent(control, wake_r).loop()


if __name__ == "__main__":
    sys.exit(main())
