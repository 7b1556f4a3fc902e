"""The project's state database (.theseus/theseus.db): one SQLite file, WAL, versioned schemas.

The archive, the gate's guards (parked signatures, rollbacks, regressions) and anything else
that must survive a restart share this one file, so a backup or a copy of ``.theseus/`` is the
whole state. Each component owns its tables and migrates them by itself through
:func:`migrate`, which records a schema version per component: a newer Theseus can upgrade
an old file, and an older Theseus refuses a newer one instead of misreading it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from theseus.errors import StateError

DB_FILE = "theseus.db"


class Database:
    """One connection to the state file, safe to share between threads of one process.

    Other processes (a person running ``theseus approve`` while a cycle waits) open their own
    connection; WAL lets readers and one writer proceed together, and ``busy_timeout`` makes a
    second writer wait instead of failing.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions ("
                "component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise StateError(
                f"cannot open the state database {self.path}: {exc}",
                hint="check the folder is writable and the file is a Theseus database",
            ) from None
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (BEGIN IMMEDIATE), so read-then-write steps
        such as "check the status, then change it" cannot interleave with another writer."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        """Rows of one read statement."""
        with self._lock:
            return list(self._conn.execute(sql, params))

    def migrate(self, component: str, steps: Sequence[str]) -> None:
        """Bring ``component``'s tables to ``len(steps)``; step i (a SQL script) makes version i+1.

        Steps are only ever appended, never edited, once released.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE component = ?", (component,)
            ).fetchone()
            current = int(row["version"]) if row else 0
            if current > len(steps):
                raise StateError(
                    f"{self.path}: the {component} tables are at schema version {current}, "
                    f"this Theseus knows up to {len(steps)}",
                    hint="upgrade Theseus, or point it at another state folder",
                )
            for step in steps[current:]:
                for statement in step.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            if current < len(steps):
                conn.execute(
                    "INSERT INTO schema_versions(component, version) VALUES (?, ?) "
                    "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                    (component, len(steps)),
                )

    def schema_version(self, component: str) -> int:
        rows = self.query("SELECT version FROM schema_versions WHERE component = ?", (component,))
        return int(rows[0]["version"]) if rows else 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
