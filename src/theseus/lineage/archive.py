"""The archive: every candidate ever proposed, with its parent, scores and status history.

Nothing is deleted. A later cycle can start from any candidate (its diff and base are here,
its commit on ``refs/theseus/candidates/ID``), a person can see why each one was rejected,
and the guards can count how often a failure signature has been attempted.

Status changes follow one explicit graph (:data:`TRANSITIONS`); an illegal change is refused
with one line, because a candidate that jumps from ``failed`` to ``promoted`` is a bug in
the cycle, not something to store.
"""

from __future__ import annotations

import builtins
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast, get_args

from theseus._jsonvalue import dumps, to_json_safe
from theseus.change.candidate import Candidate, CandidateStatus
from theseus.errors import IllegalTransition, NotFound, TheseusError
from theseus.lineage.db import Database

STATUSES: tuple[str, ...] = get_args(CandidateStatus)

# from -> the statuses it may move to. A person may reject anything still pending.
TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"rejected_policy", "invalid", "failed", "verified", "rejected"}),
    "verified": frozenset({"approved", "rejected"}),
    "approved": frozenset({"promoted", "rejected"}),
    "promoted": frozenset({"rolled_back"}),
    "rejected_policy": frozenset(),
    "invalid": frozenset(),
    "failed": frozenset(),
    "rejected": frozenset(),
    "rolled_back": frozenset(),
}

_SCHEMA = [
    """
    CREATE TABLE candidates (
        id TEXT PRIMARY KEY,
        base_commit TEXT NOT NULL,
        diff TEXT NOT NULL,
        signature TEXT,
        proposer TEXT NOT NULL,
        rationale TEXT NOT NULL,
        parent_id TEXT,
        created_at REAL NOT NULL,
        status TEXT NOT NULL,
        meta TEXT NOT NULL,
        scores TEXT,
        updated_at REAL NOT NULL
    );
    CREATE INDEX candidates_signature ON candidates(signature);
    CREATE INDEX candidates_status ON candidates(status);
    CREATE TABLE transitions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        candidate_id TEXT NOT NULL REFERENCES candidates(id),
        from_status TEXT,
        to_status TEXT NOT NULL,
        reason TEXT NOT NULL,
        actor TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX transitions_candidate ON transitions(candidate_id);
    CREATE TABLE attempts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        signature TEXT NOT NULL,
        candidate_id TEXT,
        outcome TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX attempts_signature ON attempts(signature, at)
    """,
]


@dataclass(frozen=True)
class Transition:
    """One entry of a candidate's status history."""

    from_status: str | None
    to_status: str
    reason: str
    actor: str
    at: float


class Archive:
    """Every candidate of one project, in ``.theseus/theseus.db``."""

    def __init__(self, path: Path | str | Database) -> None:
        self.db = path if isinstance(path, Database) else Database(path)
        self.db.migrate("archive", _SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add(self, candidate: Candidate, *, actor: str = "theseus") -> Candidate:
        """Store a candidate; adding the same content-addressed id again is a no-op that
        returns the stored one (so its status and history are never reset)."""
        now = time.time()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT id FROM candidates WHERE id = ?", (candidate.id,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO candidates(id, base_commit, diff, signature, proposer, rationale,"
                    " parent_id, created_at, status, meta, scores, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                    (
                        candidate.id,
                        candidate.base_commit,
                        candidate.diff,
                        candidate.signature,
                        candidate.proposer,
                        candidate.rationale,
                        candidate.parent_id,
                        candidate.created_at,
                        candidate.status,
                        dumps(to_json_safe(candidate.meta)),
                        now,
                    ),
                )
                conn.execute(
                    "INSERT INTO transitions(candidate_id, from_status, to_status, reason, actor, at)"
                    " VALUES (?, NULL, ?, ?, ?, ?)",
                    (
                        candidate.id,
                        candidate.status,
                        f"proposed by {candidate.proposer}",
                        actor,
                        now,
                    ),
                )
        return self.get(candidate.id)

    def get(self, id_or_prefix: str) -> Candidate:
        """The candidate with this id, or the only one whose id starts with the prefix."""
        return _to_candidate(self._row(id_or_prefix))

    def resolve(self, id_or_prefix: str) -> str:
        """The full id for an id or unique prefix (NotFound / ambiguous -> one line)."""
        return str(self._row(id_or_prefix)["id"])

    def _row(self, id_or_prefix: str) -> Any:
        key = id_or_prefix.strip()
        if not key:
            raise TheseusError("empty candidate id", hint="see `theseus candidates list`")
        rows = self.db.query("SELECT * FROM candidates WHERE id = ?", (key,))
        if not rows:
            pattern = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self.db.query(
                "SELECT * FROM candidates WHERE id LIKE ? ESCAPE '\\' LIMIT 6", (pattern,)
            )
        if not rows:
            raise NotFound(
                f"no candidate {key!r} in the archive", hint="see `theseus candidates list`"
            )
        if len(rows) > 1:
            shown = ", ".join(str(r["id"]) for r in rows[:5])
            raise TheseusError(
                f"candidate prefix {key!r} is ambiguous ({shown})", hint="give more characters"
            )
        return rows[0]

    def list(
        self, status: str | None = None, signature: str | None = None, limit: int | None = None
    ) -> builtins.list[Candidate]:
        """Candidates, oldest first, optionally only one status and/or signature."""
        if status is not None and status not in STATUSES:
            raise TheseusError(
                f"unknown candidate status {status!r}", hint=f"use one of: {', '.join(STATUSES)}"
            )
        sql = "SELECT * FROM candidates WHERE 1=1"
        params: builtins.list[object] = []
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        if signature is not None:
            sql += " AND signature = ?"
            params.append(signature)
        sql += " ORDER BY created_at, rowid"
        rows = self.db.query(sql, params)
        if limit is not None:
            rows = rows[-limit:]
        return [_to_candidate(r) for r in rows]

    def set_status(
        self, id_or_prefix: str, status: str, reason: str, actor: str = "theseus"
    ) -> Candidate:
        """Move a candidate along the status graph, recording who did it and why."""
        if status not in STATUSES:
            raise TheseusError(
                f"unknown candidate status {status!r}", hint=f"use one of: {', '.join(STATUSES)}"
            )
        full_id = self.resolve(id_or_prefix)
        now = time.time()
        with self.db.transaction() as conn:
            current = str(
                conn.execute("SELECT status FROM candidates WHERE id = ?", (full_id,)).fetchone()[0]
            )
            if status not in TRANSITIONS[current]:
                allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (it is final)"
                raise IllegalTransition(
                    f"candidate {full_id} is {current}; it cannot become {status}",
                    hint=f"from {current} it may become: {allowed}",
                )
            conn.execute(
                "UPDATE candidates SET status = ?, updated_at = ? WHERE id = ?",
                (status, now, full_id),
            )
            conn.execute(
                "INSERT INTO transitions(candidate_id, from_status, to_status, reason, actor, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (full_id, current, status, reason, actor, now),
            )
        return self.get(full_id)

    def status(self, id_or_prefix: str) -> CandidateStatus:
        status: CandidateStatus = self._row(id_or_prefix)["status"]
        return status

    def record_scores(self, id_or_prefix: str, scores: dict[str, Any]) -> None:
        """Keep a candidate's verification scores (fixed, total, tests passed/failed,
        regressions, duration, ...) as JSON; a later call replaces them."""
        full_id = self.resolve(id_or_prefix)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE candidates SET scores = ?, updated_at = ? WHERE id = ?",
                (dumps(to_json_safe(scores)), time.time(), full_id),
            )

    def scores(self, id_or_prefix: str) -> dict[str, Any] | None:
        raw = self._row(id_or_prefix)["scores"]
        return cast(dict[str, Any], json.loads(raw)) if raw else None

    def history(self, id_or_prefix: str) -> builtins.list[Transition]:
        """Every status the candidate has had, oldest first."""
        full_id = self.resolve(id_or_prefix)
        rows = self.db.query(
            "SELECT * FROM transitions WHERE candidate_id = ? ORDER BY seq", (full_id,)
        )
        return [
            Transition(r["from_status"], r["to_status"], r["reason"], r["actor"], r["at"])
            for r in rows
        ]

    def ancestry(self, id_or_prefix: str) -> builtins.list[Candidate]:
        """The candidate and its parents that are in the archive, newest first."""
        chain = [self.get(id_or_prefix)]
        seen = {chain[0].id}
        while (parent := chain[-1].parent_id) is not None and parent not in seen:
            rows = self.db.query("SELECT * FROM candidates WHERE id = ?", (parent,))
            if not rows:
                break
            chain.append(_to_candidate(rows[0]))
            seen.add(parent)
        return chain

    def record_attempt(self, signature: str, outcome: str, candidate_id: str | None = None) -> None:
        """One attempt at fixing ``signature`` (a proposal round, whatever came of it)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO attempts(signature, candidate_id, outcome, at) VALUES (?, ?, ?, ?)",
                (signature, candidate_id, outcome, time.time()),
            )

    def attempts(self, signature: str, since: float | None = None) -> int:
        """How many attempts were made at ``signature`` (after ``since``, when given)."""
        rows = self.db.query(
            "SELECT COUNT(*) AS n FROM attempts WHERE signature = ? AND at > ?",
            (signature, since if since is not None else float("-inf")),
        )
        return int(rows[0]["n"])


def _to_candidate(row: Any) -> Candidate:
    return Candidate(
        id=row["id"],
        base_commit=row["base_commit"],
        diff=row["diff"],
        signature=row["signature"],
        proposer=row["proposer"],
        rationale=row["rationale"],
        parent_id=row["parent_id"],
        created_at=row["created_at"],
        status=row["status"],
        meta=json.loads(row["meta"]),
    )
