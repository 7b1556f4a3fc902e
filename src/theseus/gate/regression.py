"""Regression detection: a failure signature that comes back after its fix was promoted.

A fixed bug that returns means the fix was incomplete, or something undid it. Quietly
fixing it again, cycle after cycle, would hide that; so a return is flagged (and audited by
the caller), the signature may be re-fixed at most ``max_refixes`` times, and after that it is
held for a person (``clear``) instead of looping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from theseus.lineage.db import Database

_SCHEMA = [
    """
    CREATE TABLE fixed_signatures (
        signature TEXT PRIMARY KEY,
        candidate_id TEXT NOT NULL,
        fixed_at REAL NOT NULL,
        returns INTEGER NOT NULL DEFAULT 0,
        refixes INTEGER NOT NULL DEFAULT 0,
        flagged_at REAL,
        last_seen REAL
    )
    """
]


@dataclass(frozen=True)
class RegressionFlag:
    """A fixed signature seen failing again after its fix went live."""

    signature: str
    candidate_id: str
    fixed_at: float
    returns: int
    refixes: int
    may_refix: bool

    @property
    def reason(self) -> str:
        how = "may be fixed again" if self.may_refix else "held for a person (re-fixed too often)"
        return (
            f"signature {self.signature} came back after candidate {self.candidate_id} fixed it "
            f"(return #{self.returns}); {how}"
        )


class RegressionWatch:
    """Remembers which signatures promoted candidates fixed, and notices them coming back."""

    def __init__(
        self, db: Database, max_refixes: int = 1, clock: Callable[[], float] = time.time
    ) -> None:
        self.db, self.max_refixes, self.clock = db, max_refixes, clock
        db.migrate("regressions", _SCHEMA)

    def mark_fixed(self, signature: str, candidate_id: str) -> None:
        """A candidate fixing ``signature`` was promoted (a re-fix after a return counts)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO fixed_signatures(signature, candidate_id, fixed_at) VALUES (?, ?, ?)"
                " ON CONFLICT(signature) DO UPDATE SET candidate_id = excluded.candidate_id,"
                " fixed_at = excluded.fixed_at,"
                " refixes = refixes + (CASE WHEN flagged_at IS NOT NULL THEN 1 ELSE 0 END),"
                " flagged_at = NULL",
                (signature, candidate_id, self.clock()),
            )

    def went_live(self, signature: str) -> None:
        """The fix's version finished its health watch in the live service: from now on a
        failure of ``signature`` is a return. Until then the previous version may still be
        answering (in-flight requests, the watch window), and its failures are old news."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE fixed_signatures SET fixed_at = ? WHERE signature = ?",
                (self.clock(), signature),
            )

    def is_fixed(self, signature: str) -> bool:
        """Whether a promoted candidate fixed ``signature`` and it has not come back since."""
        rows = self.db.query(
            "SELECT 1 FROM fixed_signatures WHERE signature = ? AND flagged_at IS NULL",
            (signature,),
        )
        return bool(rows)

    def forget(self, signature: str) -> None:
        """The fix was rolled back or a person cleared the flag: the signature is open again."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM fixed_signatures WHERE signature = ?", (signature,))

    def observe(self, signature: str, newest_failure_at: float) -> RegressionFlag | None:
        """Failures of ``signature`` seen up to ``newest_failure_at``: a flag when that is after
        its fix went live, else None (old evidence from before the fix is not a return)."""
        rows = self.db.query("SELECT * FROM fixed_signatures WHERE signature = ?", (signature,))
        if not rows or newest_failure_at <= float(rows[0]["fixed_at"]):
            return None
        row = rows[0]
        first_time = row["flagged_at"] is None
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE fixed_signatures SET returns = returns + ?, flagged_at = COALESCE(flagged_at, ?),"
                " last_seen = ? WHERE signature = ?",
                (1 if first_time else 0, self.clock(), newest_failure_at, signature),
            )
        returns = int(row["returns"]) + (1 if first_time else 0)
        refixes = int(row["refixes"])
        return RegressionFlag(
            signature,
            str(row["candidate_id"]),
            float(row["fixed_at"]),
            returns,
            refixes,
            may_refix=refixes < self.max_refixes,
        )

    def flagged(self) -> list[RegressionFlag]:
        rows = self.db.query("SELECT * FROM fixed_signatures WHERE flagged_at IS NOT NULL")
        return [
            RegressionFlag(
                str(r["signature"]),
                str(r["candidate_id"]),
                float(r["fixed_at"]),
                int(r["returns"]),
                int(r["refixes"]),
                may_refix=int(r["refixes"]) < self.max_refixes,
            )
            for r in rows
        ]
