"""Scratch folders that a killed process does not leave behind for good.

Workspaces and the repair engine's copies live in the system's temporary folder. A process
that is killed (a test's timeout, Ctrl-C twice, the OOM killer) cannot remove its own, so
each folder records who made it (pid and that process's start time, which tells a live
owner from a recycled pid), and the next run removes the folders whose owner is gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["OWNER_FILE", "SCRATCH_PREFIXES", "make_scratch", "reap_stale"]

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


def make_scratch(prefix: str, parent: Path | None = None) -> Path:
    """A new private folder (mode 0700) named ``prefix...``, marked with its owner."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    pid = os.getpid()
    (folder / OWNER_FILE).write_text(f"{pid} {_start_time(pid) or '?'}\n", encoding="ascii")
    return folder


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
        shutil.rmtree(entry, ignore_errors=True)
        removed += not entry.exists()
    return removed
