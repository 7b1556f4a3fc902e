"""A memory cgroup per sandboxed run: the limit that also counts tmpfs.

``RLIMIT_AS`` bounds each process's address space, but not the pages a run puts in a tmpfs
(its private ``/tmp``), nor the sum over its processes. A memory cgroup charges both, so a run
that fills ``/tmp`` or forks many allocators is killed by the kernel at the run's limit, not
the host's. The command joins its cgroup before it execs (a shell prefix writes its own pid
into ``cgroup.procs``), so no allocation happens outside it.

Only where Theseus may create cgroups (root, with the v1 memory controller mounted at
``/sys/fs/cgroup/memory``, or a v2 hierarchy with the memory controller enabled); elsewhere
:func:`memory_cgroup` returns None and ``theseus doctor`` lists the protection as missing.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MemoryCgroup", "cgroup_support", "memory_cgroup"]

_V1 = Path("/sys/fs/cgroup/memory")
_V2 = Path("/sys/fs/cgroup")
_PARENT = "theseus-sandbox"
_JOIN = 'echo $$ > "$0" && exec "$@"'


@dataclass(frozen=True)
class MemoryCgroup:
    """One run's cgroup; :meth:`prefix` goes in front of the command line."""

    path: Path
    version: int

    def prefix(self) -> list[str]:
        return ["/bin/sh", "-c", _JOIN, str(self.path / "cgroup.procs")]

    def oom_kills(self) -> int:
        """How often the kernel killed a process of this run for memory."""
        try:
            if self.version == 2:
                for line in (self.path / "memory.events").read_text().splitlines():
                    name, _, value = line.partition(" ")
                    if name == "oom_kill":
                        return int(value)
                return 0
            control = (self.path / "memory.oom_control").read_text().split()
            if "oom_kill" in control:
                return int(control[control.index("oom_kill") + 1])
            return int((self.path / "memory.failcnt").read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        """Remove the cgroup once its processes (and their tmpfs pages) are gone."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)  # the last pages are uncharged just after the exit


def _parent() -> tuple[Path, int] | None:
    """``theseus-sandbox/p<pid>`` under the memory hierarchy: one folder per process, so
    the groups a killed process left can be told from those a live one is about to use."""
    if os.geteuid() != 0:
        return None
    if (_V1 / "cgroup.procs").is_file():
        root, version = _V1 / _PARENT, 1
    else:
        controllers = _V2 / "cgroup.controllers"
        if not (controllers.is_file() and "memory" in controllers.read_text().split()):
            return None
        root, version = _V2 / _PARENT, 2
    _reap_dead(root)
    mine = root / f"p{os.getpid()}"
    if mine not in _reaped:
        _reaped.add(mine)
        atexit.register(_remove_quietly, mine)  # the next process reaps it if this fails
    return mine, version


def _remove_quietly(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


_reaped: set[Path] = set()


def _reap_dead(root: Path) -> None:
    """Once per process: remove the groups of processes that are gone (a killed run's)."""
    if root in _reaped:
        return
    _reaped.add(root)
    try:
        owners = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("p")]
    except OSError:
        return
    for stray in root.glob("run-*"):  # groups made before they were kept per process
        with contextlib.suppress(OSError):
            stray.rmdir()
    for owner in owners:
        if not owner.name[1:].isdigit() or Path(f"/proc/{owner.name[1:]}").exists():
            continue
        for group in owner.glob("run-*"):
            with contextlib.suppress(OSError):
                group.rmdir()
        with contextlib.suppress(OSError):
            owner.rmdir()


def memory_cgroup(limit_bytes: int) -> MemoryCgroup | None:
    """A new cgroup limited to ``limit_bytes`` (RAM and tmpfs; no swap), or None here."""
    found = _parent()
    if found is None:
        return None
    parent, version = found
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if version == 2:
            for level in (parent.parent, parent):
                with contextlib.suppress(OSError):
                    (level / "cgroup.subtree_control").write_text("+memory")
        path = parent / f"run-{uuid.uuid4().hex[:16]}"
        path.mkdir()
    except OSError:
        return None
    group = MemoryCgroup(path, version)
    try:
        if version == 2:
            (path / "memory.max").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):
                (path / "memory.swap.max").write_text("0")
        else:
            (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):
                (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
    except OSError:
        group.remove()
        return None
    return group


def cgroup_support() -> tuple[bool, str]:
    """Whether runs get a memory cgroup here, and how (or why not), for ``doctor``."""
    group = memory_cgroup(64 * 1024 * 1024)
    if group is None:
        why = "needs root" if os.geteuid() != 0 else "no writable memory cgroup controller"
        return False, f"no memory cgroup ({why}); RLIMIT_AS per process, /tmp bounded by size"
    group.remove()
    return True, f"cgroup v{group.version} memory limit per run, tmpfs pages included"
