"""Scratch folders that a killed process does not leave behind for good, with a disk quota.

Workspaces and the repair engine's copies live in the system's temporary folder. A process
that is killed (a test's timeout, Ctrl-C twice, the OOM killer) cannot remove its own, so
each folder records who made it (pid and that process's start time, which tells a live
owner from a recycled pid), and the next run removes the folders whose owner is gone.

Candidate code writes into its workspace, so the workspace is also where it could fill the
host's disk. As root, a scratch folder with a :class:`Quota` is its own tmpfs, limited in
bytes and in files (inodes): a write past either gets ENOSPC from the kernel. Its pages
are memory, so they also count against a sandboxed run's memory cgroup. Without root the
folder is a plain one and ``theseus doctor`` lists the quota as missing.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_QUOTA",
    "OWNER_FILE",
    "SCRATCH_PREFIXES",
    "Quota",
    "make_scratch",
    "quota_support",
    "reap_stale",
    "release_scratch",
]

OWNER_FILE = ".theseus-owner"
SCRATCH_PREFIXES = ("theseus-ws-", "theseus-repair-")


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


@dataclass(frozen=True)
class Quota:
    """How much a scratch folder may hold: bytes and files."""

    bytes: int
    files: int


DEFAULT_QUOTA = Quota(bytes=1 << 30, files=100_000)
_MS_NOSUID, _MS_NODEV, _MNT_DETACH = 2, 4, 2


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount_tmpfs(folder: Path, quota: Quota) -> bool:
    """Make ``folder`` a tmpfs of ``quota`` (root only); whether it worked."""
    if os.geteuid() != 0:
        return False
    options = f"size={quota.bytes},nr_inodes={quota.files},mode=0700".encode()
    done = _libc().mount(
        b"theseus-scratch", str(folder).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options
    )
    return bool(done == 0)


def make_scratch(prefix: str, parent: Path | None = None, quota: Quota | None = None) -> Path:
    """A new private folder (mode 0700) named ``prefix...``, marked with its owner; with
    ``quota`` (and root) a tmpfs of that size. Remove it with :func:`release_scratch`."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    if quota is not None:
        _mount_tmpfs(folder, quota)
    pid = os.getpid()
    (folder / OWNER_FILE).write_text(f"{pid} {_start_time(pid) or '?'}\n", encoding="ascii")
    return folder


def release_scratch(folder: Path | str) -> None:
    """Remove a scratch folder: its tmpfs is detached first (its files go with it)."""
    path = Path(folder)
    if os.path.ismount(path):
        _libc().umount2(str(path).encode(), _MNT_DETACH)
    shutil.rmtree(path, ignore_errors=True)


def quota_support() -> tuple[bool, str]:
    """Whether scratch folders get a quota here, and how (or why not), for ``doctor``."""
    folder = make_scratch("theseus-probe-", quota=Quota(1 << 20, 64))
    try:
        mounted = os.path.ismount(folder)
    finally:
        release_scratch(folder)
    if mounted:
        return True, "each workspace is a tmpfs limited in bytes and files (verify.workspace_mb)"
    why = "needs root" if os.geteuid() != 0 else "tmpfs cannot be mounted here"
    return False, f"no workspace quota ({why}): RLIMIT_FSIZE per file only"


def _owner_alive(folder: Path) -> bool:
    try:
        pid_text, _, started = (folder / OWNER_FILE).read_text(encoding="ascii").partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return True  # not ours to judge (no marker, or unreadable): leave it alone
    now = _start_time(pid)
    return now is not None and (started.strip() in ("?", now))


def reap_stale(parent: Path | None = None, prefixes: tuple[str, ...] = SCRATCH_PREFIXES) -> int:
    """Remove scratch folders under ``parent`` (default: the temp folder) whose owner
    process is gone; the number removed. Folders without a marker are never touched."""
    root = Path(parent or tempfile.gettempdir())
    removed = 0
    try:
        entries = list(root.iterdir())
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(prefixes) or entry.is_symlink() or not entry.is_dir():
            continue
        if _owner_alive(entry):
            continue
        release_scratch(entry)
        removed += not entry.exists()
    return removed
