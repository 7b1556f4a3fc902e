"""Attempts per failure signature: after N tries the signature is parked until new evidence.

Without this, a bug the proposers cannot fix would eat every cycle's budget forever. A
parked signature is skipped until its evidence changes: the caller passes an
``evidence_key`` (a digest of the batch's distinct failing inputs, see :func:`evidence_key`)
and the signature is unparked when the key differs from the one it was parked on. Without a
key, evidence newer than the parking time unparks it (only useful when failures are sparse,
since a steady stream of the same failure would unpark it every cycle).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from theseus.lineage.archive import Archive

_SCHEMA = [
    """
    CREATE TABLE parked_signatures (
        signature TEXT PRIMARY KEY,
        parked_at REAL,
        evidence_key TEXT,
        counted_since REAL NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    )
    """
]


def evidence_key(items: Iterable[str]) -> str:
    """A stable digest of distinct evidence items (e.g. normalised failing inputs)."""
    digest = hashlib.sha256()
    for item in sorted(set(items)):
        digest.update(item.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class AttemptVerdict:
    allowed: bool
    reason: str


class AttemptGuard:
    """Counts attempts in the archive and parks signatures in the same state database."""

    def __init__(
        self, archive: Archive, max_attempts: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.archive, self.max_attempts, self.clock = archive, max_attempts, clock
        self.db = archive.db
        self.db.migrate("attempts", _SCHEMA)

    def _row(self, signature: str) -> tuple[float | None, str | None, float]:
        rows = self.db.query("SELECT * FROM parked_signatures WHERE signature = ?", (signature,))
        if not rows:
            return None, None, float("-inf")
        r = rows[0]
        return r["parked_at"], r["evidence_key"], float(r["counted_since"])

    def attempts(self, signature: str) -> int:
        """Attempts since the signature was last unparked (or ever)."""
        return self.archive.attempts(signature, since=self._row(signature)[2])

    def check(
        self,
        signature: str,
        *,
        evidence_key: str | None = None,
        newest_evidence_at: float | None = None,
    ) -> AttemptVerdict:
        """May this cycle attempt ``signature``? Unparks it when its evidence is new."""
        parked_at, parked_key, _ = self._row(signature)
        if parked_at is None:
            left = self.max_attempts - self.attempts(signature)
            return AttemptVerdict(True, f"{left} of {self.max_attempts} attempts left")
        if evidence_key is not None:
            fresh = evidence_key != parked_key
        else:
            fresh = newest_evidence_at is not None and newest_evidence_at > parked_at
        if not fresh:
            return AttemptVerdict(
                False,
                f"parked after {self.max_attempts} attempts; waiting for new evidence",
            )
        now = self.clock()
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE parked_signatures SET parked_at = NULL, evidence_key = NULL,"
                " counted_since = ?, reason = 'new evidence' WHERE signature = ?",
                (now, signature),
            )
        return AttemptVerdict(True, "unparked: new evidence arrived")

    def record(
        self,
        signature: str,
        outcome: str,
        *,
        candidate_id: str | None = None,
        evidence_key: str | None = None,
    ) -> bool:
        """Count one attempt; returns True when this attempt parks the signature.

        A ``promoted`` outcome ends the count (the signature is fixed, not stuck)."""
        self.archive.record_attempt(signature, outcome, candidate_id)
        if outcome == "promoted":
            self._upsert(signature, None, None, self.clock(), "fixed")
            return False
        if self.attempts(signature) < self.max_attempts:
            return False
        self._upsert(
            signature, self.clock(), evidence_key, self._row(signature)[2], f"after {outcome}"
        )
        return True

    def _upsert(
        self, signature: str, parked_at: float | None, key: str | None, since: float, reason: str
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO parked_signatures(signature, parked_at, evidence_key, counted_since, reason)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(signature) DO UPDATE SET"
                " parked_at = excluded.parked_at, evidence_key = excluded.evidence_key,"
                " counted_since = excluded.counted_since, reason = excluded.reason",
                (signature, parked_at, key, since if since != float("-inf") else 0.0, reason),
            )

    def parked(self) -> list[str]:
        rows = self.db.query(
            "SELECT signature FROM parked_signatures WHERE parked_at IS NOT NULL ORDER BY parked_at"
        )
        return [str(r["signature"]) for r in rows]
