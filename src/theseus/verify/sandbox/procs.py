"""Counting and killing every process of one sandboxed run, without cgroups.

Root ignores RLIMIT_NPROC, so the process limit is enforced by a watchdog that counts the
run's processes and kills them all when there are too many. Which processes belong to a run
depends on the backend:

* with a pid namespace (bwrap, netns) every descendant, however it detaches, lives in the
  namespace; killing the namespace's init makes the kernel kill all of them, and the
  namespace's own procfs counts them in one directory listing;
* without one (rlimits) the run is its own session; members are found by a /proc scan, and a
  process that calls setsid(2) escapes, which is why that backend comes with a warning.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

_HOST_PROC_DEV = os.stat("/proc").st_dev if os.path.isdir("/proc") else -1


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    session: int
    state: str


def scan() -> Iterator[ProcInfo]:
    """Every process on the host, read from /proc/N/stat (skipping ones that just died)."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = raw[raw.rfind(b")") + 2 :].split()
        if len(fields) > 3:
            yield ProcInfo(
                pid=int(name),
                ppid=int(fields[1]),
                session=int(fields[3]),
                state=fields[0].decode("ascii", "replace"),
            )


def _kill(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class Tracker(Protocol):
    """Counts and kills the processes of one run whose first process is ``root_pid``."""

    def count(self) -> int: ...

    def kill_all(self) -> None: ...


@dataclass
class NamespaceTracker:
    """For backends whose command runs in a new pid namespace below ``root_pid``."""

    root_pid: int
    _init_pid: int | None = field(default=None, init=False)
    _ns: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        try:
            self._own_ns = os.readlink("/proc/self/ns/pid")
        except OSError:
            self._own_ns = ""

    def _find_init(self) -> int | None:
        if self._init_pid is None:
            for proc in scan():
                if proc.ppid == self.root_pid:
                    self._init_pid = proc.pid
                    break
        if self._init_pid is not None and self._ns is None:
            try:
                ns = os.readlink(f"/proc/{self._init_pid}/ns/pid")
            except OSError:
                return self._init_pid
            if ns != self._own_ns:
                self._ns = ns
        return self._init_pid

    def count(self) -> int:
        init = self._find_init()
        if init is None or self._ns is None:
            return 1
        inner = f"/proc/{init}/root/proc"
        try:
            if os.stat(inner).st_dev != _HOST_PROC_DEV:
                return sum(1 for name in os.listdir(inner) if name.isdigit())
        except OSError:
            pass
        return self._count_by_namespace()

    def _count_by_namespace(self) -> int:
        count = 0
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    if os.readlink(f"/proc/{name}/ns/pid") == self._ns:
                        count += 1
                except OSError:
                    continue
        return count

    def kill_all(self) -> None:
        init = self._find_init()
        if init is not None:
            _kill(init)  # the kernel kills every process of the namespace with its init
        _killpg(self.root_pid)
        _kill(self.root_pid)


@dataclass
class SessionTracker:
    """For the rlimits backend: the run is the session led by ``root_pid``."""

    root_pid: int

    def members(self) -> list[int]:
        # zombies are already dead: they only wait to be reaped by their parent
        return [p.pid for p in scan() if p.session == self.root_pid and p.state != "Z"]

    def count(self) -> int:
        return len(self.members())

    def kill_all(self) -> None:
        # stop first, then kill: a stopped process cannot fork a replacement in between
        deadline = time.monotonic() + 5.0
        _killpg(self.root_pid)
        while time.monotonic() < deadline:
            members = self.members()
            if not members:
                return
            for pid in members:
                _kill(pid, signal.SIGSTOP)
            for pid in members:
                _kill(pid)
            _killpg(self.root_pid)
            time.sleep(0.01)
