"""The SDK's write path: an append-only journal per process, taken into the store on read.

A ``@task`` call outside ``theseus serve`` used to commit one SQLite transaction before it
returned: durable, but the commit cost more than many agent calls. Now its record is one
``write()`` of one JSON line to this process's journal file (``<store>.journal/<pid>-<start>
.jsonl``, opened ``O_APPEND``). Once ``write()`` returns the line is in the kernel's page
cache, so a crash of the process (SIGKILL included) keeps it, the same guarantee SQLite's
WAL with ``synchronous=NORMAL`` gives; only a power loss of the machine can drop it.

Whoever opens the store (the CLI, the evolution cycle) first takes every journal's new
complete lines into SQLite (:func:`take_in`), in one transaction that also moves that file's
offset, so two readers never take a line twice and a torn last line (a crash mid-write)
waits or is dropped. A file is deleted once taken in completely and finished: sealed by
its writer (at exit, or when it passed :data:`ROTATE_BYTES`) or left by a process that no
longer runs. Lines are validated as records; a bad one is counted and skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from theseus.evidence.records import FailureReport, TaskRecord

__all__ = ["ROTATE_BYTES", "Journal", "has_evidence", "journal_dir", "take_in"]

ROTATE_BYTES = 8 * 1024 * 1024
SEALED = ".sealed"
OFFSETS = "CREATE TABLE IF NOT EXISTS journal_offsets (name TEXT PRIMARY KEY, offset INTEGER)"


def journal_dir(store: Path) -> Path:
    return store.with_name(store.name + ".journal")


def has_evidence(store: Path) -> bool:
    """Whether anything was recorded for ``store``: the database, or journals not yet in it."""
    if store.exists():
        return True
    with contextlib.suppress(OSError):
        return any(".jsonl" in p.name for p in journal_dir(store).iterdir())
    return False


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (``/proc``): with the pid, a name no later
    process can reuse."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class Journal:
    """This process's journal files, one per store; appends under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[Path, tuple[int, Path, int]] = {}  # store -> (fd, file, bytes)
        self._pid = os.getpid()

    def append(self, store: Path, kind: str, body: str) -> None:
        """One record (``body``: its JSON) as one line; OSError if it cannot be written."""
        line = f'{{"kind":"{kind}","record":{body}}}\n'.encode()
        with self._lock:
            if os.getpid() != self._pid:  # a forked child writes its own file
                self._files, self._pid = {}, os.getpid()
            fd, path, size = self._files.get(store) or self._open(store)
            written = os.write(fd, line)
            while written < len(line):  # a regular file takes it whole; be safe anyway
                written += os.write(fd, line[written:])
            size += len(line)
            if size > ROTATE_BYTES:
                self._seal(fd, path)
                self._files.pop(store, None)
            else:
                self._files[store] = (fd, path, size)

    def _open(self, store: Path) -> tuple[int, Path, int]:
        folder = journal_dir(store)
        folder.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        start = _start_time(pid) or str(os.times().elapsed)
        for n in range(1000):
            path = folder / f"{pid}-{start}-{n}.jsonl"
            if not path.exists() and not Path(str(path) + SEALED).exists():
                break
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return fd, path, 0

    def _seal(self, fd: int, path: Path) -> None:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.replace(path, str(path) + SEALED)

    def seal_all(self) -> None:
        """Finish every open file (at exit): readers then delete them once taken in."""
        with self._lock:
            if os.getpid() == self._pid:
                for fd, path, _ in self._files.values():
                    self._seal(fd, path)
            self._files = {}


def _finished(path: Path) -> bool:
    """Sealed, or written by a process that is gone (its pid and start time no longer match)."""
    if path.name.endswith(SEALED):
        return True
    pid, _, rest = path.name.partition("-")
    start = rest.split("-")[0]
    return not pid.isdigit() or _start_time(int(pid)) != start


def take_in(
    db: sqlite3.Connection, store: Path
) -> tuple[list[TaskRecord], list[FailureReport], int, list[Path]]:
    """Inside the caller's open write transaction: every journal's new complete lines as
    records, the number of bad lines skipped, and the files to delete after the commit.
    Moves each file's offset in ``journal_offsets`` (so the caller's commit makes both
    the records and the progress durable together)."""
    folder = journal_dir(store)
    tasks: list[TaskRecord] = []
    reports: list[FailureReport] = []
    bad, done = 0, list[Path]()
    try:
        files = sorted(p for p in folder.iterdir() if ".jsonl" in p.name)
    except OSError:
        return tasks, reports, bad, done
    if not files:
        return tasks, reports, bad, done
    db.execute(OFFSETS)
    for path in files:
        name = path.name.removesuffix(SEALED)
        row = db.execute("SELECT offset FROM journal_offsets WHERE name = ?", (name,)).fetchone()
        offset = int(row[0]) if row else 0
        finished = _finished(path)
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except OSError:
            continue  # sealed or deleted meanwhile: the next reader takes it
        complete = data[: data.rfind(b"\n") + 1]
        for line in complete.splitlines():
            parsed = _record(line)
            if parsed is None:
                bad += 1
            elif isinstance(parsed, TaskRecord):
                tasks.append(parsed)
            else:
                reports.append(parsed)
        if finished:
            db.execute("DELETE FROM journal_offsets WHERE name = ?", (name,))
            done.append(path)
        elif complete:
            db.execute(
                "INSERT OR REPLACE INTO journal_offsets (name, offset) VALUES (?, ?)",
                (name, offset + len(complete)),
            )
    return tasks, reports, bad, done


def _record(line: bytes) -> TaskRecord | FailureReport | None:
    try:
        item: Any = json.loads(line)
        body = item["record"]
        if item.get("kind") == "task":
            return TaskRecord.model_validate(body)
        if item.get("kind") == "report":
            return FailureReport.model_validate(body)
    except (ValueError, TypeError, KeyError, ValidationError):
        return None
    return None
