"""The evidence store: one SQLite file in WAL mode, safe for several writer processes.

Why SQLite: evidence is written by the agent's own processes (often several workers at once)
and read by the CLI and the evolution loop; one file with no server is the least a user has to
run. WAL lets readers work while a writer commits, ``busy_timeout`` makes concurrent writers
queue instead of failing, and every write is its own transaction, so a record is on disk once
the call that wrote it returns. (The SDK's hot path appends to a journal instead, which the
store takes in whenever it is opened: :mod:`theseus.evidence.journal`.) ``synchronous=NORMAL`` in WAL mode keeps every committed
transaction through a crash of the writing process (SIGKILL included); only a power loss of
the whole machine can drop the last few commits, which is the trade SQLite documents for WAL.

The schema is versioned: ``MIGRATIONS`` is an ordered list, ``schema_version`` records how far
a file has come, and opening a file made by an older Theseus upgrades it in one transaction.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from theseus.errors import EvidenceError
from theseus.evidence.journal import journal_dir, take_in
from theseus.evidence.records import FailureReport, TaskRecord
from theseus.evidence.schema import MIGRATIONS

BUSY_TIMEOUT_MS = 10_000
log = logging.getLogger("theseus.evidence")
T = TypeVar("T")


@dataclass(frozen=True)
class SignatureMark:
    """A person's word on a signature: ``parked`` (leave it alone until unparked) or
    ``forgotten`` (its evidence up to ``at`` no longer counts; new failures bring it back)."""

    signature: str
    mark: Literal["parked", "forgotten"]
    at: float
    actor: str
    reason: str


SCHEMA_VERSION = len(MIGRATIONS)


class EvidenceStore:
    """Task records and failure reports of one project, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN ourselves, so a transaction is exactly
            # what we say it is. check_same_thread=False: callers serialise their own use.
            self._db = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except (OSError, sqlite3.Error) as exc:
            raise EvidenceError(
                f"cannot open evidence store {self.path}: {exc}",
                hint="check the folder exists and is writable, or set [evidence].store",
            ) from None
        try:
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise EvidenceError(
                f"{self.path} is not a usable evidence store: {exc}",
                hint="point [evidence].store at a new file, or move this one away",
            ) from None
        self.take_in_journals()

    def take_in_journals(self) -> int:
        """Records the SDK appended to its journals since anyone last looked, now in the
        store (see :mod:`theseus.evidence.journal`); returns how many were new. A journal
        that cannot be read leaves the store usable: its records wait for the next open."""
        if not journal_dir(self.path).is_dir():
            return 0

        def work() -> tuple[int, int, list[Path]]:
            tasks, reports, bad, done = take_in(self._db, self.path)
            added = sum(self._insert_task(t, replace=False) for t in tasks)
            added += sum(self._insert_report(r, replace=False) for r in reports)
            return added, bad, done

        try:
            added, bad, done = self._write(work)
        except (EvidenceError, OSError) as exc:
            log.warning("theseus: evidence journals not taken in yet: %s", exc)
            return 0
        for path in done:
            with contextlib.suppress(OSError):
                path.unlink()
        if bad:
            log.warning("theseus: skipped %d unreadable line(s) in the evidence journals", bad)
        return added

    # -- schema -------------------------------------------------------------------------

    def _migrate(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it done
        try:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT max(version) FROM schema_version").fetchone()
            current = int(row[0] or 0)
            if current > SCHEMA_VERSION:
                raise EvidenceError(
                    f"{self.path} has evidence schema version {current}, newer than this "
                    f"Theseus understands ({SCHEMA_VERSION})",
                    hint="upgrade theseus-evolve",
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version - 1](db)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise

    @property
    def schema_version(self) -> int:
        row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    # -- writes -------------------------------------------------------------------------

    def add_task(self, rec: TaskRecord) -> None:
        """Store one record in its own transaction (durable when this returns).

        A single statement in autocommit mode is its own transaction: one round trip
        instead of BEGIN/INSERT/COMMIT, which matters in the agent's hot path.
        """
        try:
            self._insert_task(rec, replace=True)
        except sqlite3.Error as exc:
            raise EvidenceError(f"cannot write to evidence store {self.path}: {exc}") from None

    def add_tasks(self, recs: Iterable[TaskRecord]) -> int:
        """Store many records in one transaction; ids already present are skipped."""
        return self.add_many(recs, ())[0]

    def add_report(self, rep: FailureReport) -> None:
        try:
            self._insert_report(rep, replace=True)
        except sqlite3.Error as exc:
            raise EvidenceError(f"cannot write to evidence store {self.path}: {exc}") from None

    def add_many(
        self, tasks: Iterable[TaskRecord], reports: Iterable[FailureReport]
    ) -> tuple[int, int]:
        """Tasks and reports in one all-or-nothing transaction; returns how many were new."""

        def work() -> tuple[int, int]:
            added_tasks = sum(self._insert_task(t, replace=False) for t in tasks)
            added_reports = sum(self._insert_report(r, replace=False) for r in reports)
            return added_tasks, added_reports

        return self._write(work)

    def _write(self, work: Callable[[], T]) -> T:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise EvidenceError(f"cannot write to evidence store {self.path}: {exc}") from None
        try:
            result = work()
            db.execute("COMMIT")
        except BaseException as exc:
            _rollback(db)
            if isinstance(exc, sqlite3.Error):
                raise EvidenceError(f"cannot write to evidence store {self.path}: {exc}") from None
            raise
        return result

    def _insert_task(self, rec: TaskRecord, *, replace: bool) -> int:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        cursor = self._db.execute(
            f"{verb} INTO tasks (id, function, session_id, started_at, duration_ms, "
            "code_version, failed, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rec.id,
                rec.function,
                rec.session_id,
                rec.started_at,
                rec.duration_ms,
                rec.code_version,
                int(rec.failed),
                rec.model_dump_json(),
            ),
        )
        return cursor.rowcount

    def _insert_report(self, rep: FailureReport, *, replace: bool) -> int:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        cursor = self._db.execute(
            f"{verb} INTO reports (id, task_id, kind, severity, created_at, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (rep.id, rep.task_id, rep.kind, rep.severity, rep.created_at, rep.model_dump_json()),
        )
        return cursor.rowcount

    def mark_signature(
        self, signature: str, mark: Literal["parked", "forgotten"], actor: str, reason: str
    ) -> SignatureMark:
        """Park or forget ``signature`` (replacing an earlier mark); returns the mark."""
        marked = SignatureMark(signature, mark, time.time(), actor, reason)

        def work() -> None:
            self._db.execute(
                "INSERT OR REPLACE INTO signature_marks (signature, mark, at, actor, reason)"
                " VALUES (?, ?, ?, ?, ?)",
                (signature, mark, marked.at, actor, reason),
            )

        self._write(work)
        return marked

    def unmark_signature(self, signature: str) -> bool:
        """Take a park or forget off ``signature``; whether there was one."""

        def work() -> int:
            cursor = self._db.execute(
                "DELETE FROM signature_marks WHERE signature = ?", (signature,)
            )
            return cursor.rowcount

        return self._write(work) > 0

    def signature_marks(self) -> dict[str, SignatureMark]:
        rows = self._query("SELECT signature, mark, at, actor, reason FROM signature_marks", ())
        return {
            str(r[0]): SignatureMark(str(r[0]), r[1], float(r[2]), str(r[3]), str(r[4]))
            for r in rows
            if r[1] in ("parked", "forgotten")
        }

    # -- reads --------------------------------------------------------------------------

    def get_task(self, task_id: str) -> TaskRecord | None:
        row = self._query("SELECT data FROM tasks WHERE id = ?", (task_id,))
        return _task(row[0][0]) if row else None

    def tasks(
        self,
        *,
        failed_only: bool = False,
        since: float | None = None,
        code_version: str | None = None,
        limit: int | None = None,
    ) -> list[TaskRecord]:
        """Records oldest first; ``limit`` keeps the newest ``limit`` of those that match."""
        where, params = _filters(failed_only=failed_only, since=since, code_version=code_version)
        sql = f"SELECT data FROM tasks {where} ORDER BY started_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(0, limit))
        rows = self._query(sql, params)
        return [_task(row[0]) for row in reversed(rows)]

    def successes(self, function: str, *, limit: int) -> list[TaskRecord]:
        """The newest ``limit`` calls of ``function`` that returned, oldest first."""
        rows = self._query(
            "SELECT data FROM tasks WHERE function = ? AND failed = 0 "
            "ORDER BY started_at DESC, id DESC LIMIT ?",
            (function, max(0, limit)),
        )
        return [_task(row[0]) for row in reversed(rows)]

    def tasks_by_ids(self, ids: Sequence[str]) -> list[TaskRecord]:
        """The records with these ids that exist, oldest first."""
        found: list[TaskRecord] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):  # stay under SQLite's variable limit
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(f"SELECT data FROM tasks WHERE id IN ({marks})", chunk)
            found.extend(_task(row[0]) for row in rows)
        return sorted(found, key=lambda t: (t.started_at, t.id))

    def task_ids_with_prefix(self, prefix: str, limit: int = 10) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._query(
            "SELECT id FROM tasks WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
            (escaped + "%", limit),
        )
        return [str(row[0]) for row in rows]

    def reports(self, task_id: str | None = None) -> list[FailureReport]:
        """Failure reports oldest first, all of them or those of one task."""
        if task_id is None:
            rows = self._query("SELECT data FROM reports ORDER BY created_at, id", ())
        else:
            rows = self._query(
                "SELECT data FROM reports WHERE task_id = ? ORDER BY created_at, id", (task_id,)
            )
        return [_report(row[0]) for row in rows]

    def counts(self) -> dict[str, int]:
        """How many tasks, failed tasks and reports the store holds."""
        tasks, failed = self._query("SELECT count(*), coalesce(sum(failed), 0) FROM tasks", ())[0]
        reports = self._query("SELECT count(*) FROM reports", ())[0][0]
        return {"tasks": int(tasks), "failed": int(failed), "reports": int(reports)}

    def integrity_check(self) -> str:
        return str(self._query("PRAGMA integrity_check", ())[0][0])

    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise EvidenceError(f"cannot read evidence store {self.path}: {exc}") from None

    # -- lifetime -----------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _rollback(db: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already ended it on error."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")


def _filters(
    *, failed_only: bool, since: float | None, code_version: str | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if failed_only:
        clauses.append("failed = 1")
    if since is not None:
        clauses.append("started_at >= ?")
        params.append(since)
    if code_version is not None:
        clauses.append("code_version = ?")
        params.append(code_version)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _task(data: str) -> TaskRecord:
    try:
        return TaskRecord.model_validate(json.loads(data))
    except (ValueError, ValidationError) as exc:
        raise EvidenceError(f"a stored task record is corrupt: {exc}".splitlines()[0]) from None


def _report(data: str) -> FailureReport:
    try:
        return FailureReport.model_validate(json.loads(data))
    except (ValueError, ValidationError) as exc:
        raise EvidenceError(f"a stored failure report is corrupt: {exc}".splitlines()[0]) from None
