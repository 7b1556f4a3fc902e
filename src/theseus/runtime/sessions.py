"""Session state, owned by the supervisor: in memory, with a durable SQLite snapshot.

The worker never keeps a session: it gets the state with each message and hands it back
updated. So a worker crash or a swap cannot lose a session, and a supervisor restart picks
every session up from ``.theseus/sessions.db``. Each update is in one SQLite transaction,
so a session on disk is always a state some message produced, never half of one; updates
of one pass of the event loop share a transaction (:mod:`theseus.runtime.groupcommit`), and :meth:`SessionStore.save` returns once its
update is committed, so a reply never goes out before the state it reports is durable.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from theseus.runtime.auth import new_session_token, token_digest, tokens_equal
from theseus.runtime.groupcommit import GroupCommitter

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    version TEXT,
    state TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    pinned INTEGER NOT NULL DEFAULT 0,
    base_version TEXT,
    base_state TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS session_tokens (
    id TEXT PRIMARY KEY,
    digest TEXT NOT NULL
)
"""

_UPSERT = (
    "INSERT INTO sessions (id, version, state, messages, pinned, base_version,"
    " base_state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT(id) DO UPDATE SET version=excluded.version, state=excluded.state,"
    " messages=excluded.messages, pinned=excluded.pinned,"
    " base_version=excluded.base_version, base_state=excluded.base_state,"
    " updated_at=excluded.updated_at"
)
_CLAIM = "INSERT OR REPLACE INTO session_tokens (id, digest) VALUES (?, ?)"


@dataclass
class Session:
    """One conversation. ``base_*`` keep the state from before the last migration, so a
    rollback can return the session to the version it came from."""

    id: str
    version: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    messages: int = 0
    pinned: bool = False
    base_version: str | None = None
    base_state: dict[str, Any] | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    def returns_to(self, version: str, migrate_hook: str | None) -> bool:
        """Whether moving to ``version`` takes this migrated session back (a rollback) to the
        version it came from, which has no migrate hook to read the newer state: that
        version must get the state it had, not one shaped for code it never ran."""
        return self.base_version == version and self.base_state is not None and not migrate_hook

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "state": self.state,
            "messages": self.messages,
            "pinned": self.pinned,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class SessionStore:
    """Sessions by id, with a per-session lock so one session's messages run in order."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._writes: GroupCommitter[tuple[str, tuple[Any, ...]], None] = GroupCommitter(
            self._commit
        )
        self._cache: dict[str, Session] = {}
        self._digests: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, session_id: str) -> asyncio.Lock:
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        return lock

    def get(self, session_id: str) -> Session | None:
        cached = self._cache.get(session_id)
        if cached is not None:
            return cached
        row = self._db.execute(
            "SELECT id, version, state, messages, pinned, base_version, base_state, created_at,"
            " updated_at FROM sessions WHERE id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            return None
        session = Session(
            id=row[0],
            version=row[1],
            state=json.loads(row[2]),
            messages=row[3],
            pinned=bool(row[4]),
            base_version=row[5],
            base_state=json.loads(row[6]) if row[6] is not None else None,
            created_at=row[7],
            updated_at=row[8],
        )
        self._cache[session_id] = session
        return session

    def get_or_new(self, session_id: str) -> Session:
        return self.get(session_id) or Session(id=session_id)

    async def save(self, session: Session) -> None:
        """Write one session (one statement, committed), then make it the cached copy."""
        session.updated_at = time.time()
        base = None if session.base_state is None else json.dumps(session.base_state)
        params = (
            session.id,
            session.version,
            json.dumps(session.state),
            session.messages,
            int(session.pinned),
            session.base_version,
            base,
            session.created_at,
            session.updated_at,
        )
        await self._writes.submit((_UPSERT, params))
        self._cache[session.id] = session

    def _commit(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> list[None]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                db.execute(sql, params)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return [None] * len(statements)

    def claim(self, session_id: str) -> str | None:
        """A new token for ``session_id`` when nobody owns it yet, else None. A session kept
        from before tokens existed is claimed by its next message. Check and claim happen
        with no await between them, so on the event loop two first messages cannot both
        claim one session."""
        if self.digest(session_id) is not None:
            return None
        token = new_session_token()
        digest = token_digest(token)
        # Written ahead of the session's own update, which the reply waits for: the token is
        # durable by the time the client holds it (should the agent fail, soon after).
        self._writes.post((_CLAIM, (session_id, digest)))
        self._digests[session_id] = digest
        return token

    def digest(self, session_id: str) -> str | None:
        """The stored digest of the session's token (None: the session has no owner)."""
        known = self._digests.get(session_id)
        if known is not None:
            return known
        row = self._db.execute(
            "SELECT digest FROM session_tokens WHERE id = ?", (session_id,)
        ).fetchone()
        if row is not None:
            self._digests[session_id] = row[0]
            return str(row[0])
        return None

    def token_ok(self, session_id: str, token: str | None) -> bool:
        """Whether ``token`` is the session's own (constant-time on the digests)."""
        digest = self.digest(session_id)
        return digest is not None and tokens_equal(token_digest(token) if token else None, digest)

    def count(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM sessions").fetchone()
        return int(row[0])

    def count_on(self, version: str) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM sessions WHERE version = ?", (version,)
        ).fetchone()
        return int(row[0])

    def pinned_to(self, version: str) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM sessions WHERE version = ? AND pinned = 1", (version,)
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Commit what is queued, then close the database."""
        self._writes.close()
        self._db.close()
