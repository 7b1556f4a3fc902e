"""The evidence store's schema, as the ordered migrations that build it.

``MIGRATIONS[n]`` brings a file from schema version ``n`` to ``n + 1``; the store runs the
missing ones in one transaction when it opens an older file. Append only: a shipped
migration is never edited, since files in the field have already run it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["MIGRATIONS"]


def _v1(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            function TEXT NOT NULL,
            session_id TEXT,
            started_at REAL NOT NULL,
            duration_ms REAL NOT NULL,
            code_version TEXT,
            failed INTEGER NOT NULL,
            data TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE reports (
            id TEXT PRIMARY KEY,
            task_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL,
            created_at REAL NOT NULL,
            data TEXT NOT NULL
        )"""
    )


def _v2(db: sqlite3.Connection) -> None:
    db.execute("CREATE INDEX tasks_started ON tasks(started_at)")
    db.execute("CREATE INDEX tasks_failed ON tasks(failed, started_at)")
    db.execute("CREATE INDEX reports_task ON reports(task_id)")


def _v3(db: sqlite3.Connection) -> None:
    db.execute("CREATE INDEX tasks_function ON tasks(function, failed, started_at)")


def _v4(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE signature_marks (
            signature TEXT PRIMARY KEY,
            mark TEXT NOT NULL,
            at REAL NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL
        )"""
    )


# Ordered; the position + 1 is the schema version a migration brings a file to. Append only.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4]
