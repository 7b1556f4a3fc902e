"""The circuit breaker: too many rollbacks in an hour pause evolution until a person looks.

Each rollback says a candidate got past every check and still hurt the live service. A few
can be bad luck; K within an hour (``budget.max_rollbacks_per_hour``) means the checks are
not catching what matters, so the breaker trips the kill switch and a person must resume.
Resuming resets the count, so the same old rollbacks do not trip it again at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from theseus.gate.switch import KillSwitch
from theseus.lineage.db import Database

WINDOW = 3600.0
_SCHEMA = [
    """
    CREATE TABLE breaker_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        candidate_id TEXT,
        reason TEXT NOT NULL,
        at REAL NOT NULL
    )
    """
]


@dataclass(frozen=True)
class BreakerState:
    tripped: bool
    rollbacks: int
    limit: int
    reason: str


class CircuitBreaker:
    """Counts rollbacks (persisted) and trips after ``limit`` within an hour."""

    def __init__(
        self,
        db: Database,
        limit: int,
        switch: KillSwitch | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db, self.limit, self.switch, self.clock = db, limit, switch, clock
        db.migrate("breaker", _SCHEMA)

    def _since(self) -> float:
        rows = self.db.query("SELECT MAX(at) AS at FROM breaker_events WHERE kind = 'reset'")
        last_reset = rows[0]["at"] if rows and rows[0]["at"] is not None else float("-inf")
        return max(self.clock() - WINDOW, float(last_reset))

    def state(self) -> BreakerState:
        rows = self.db.query(
            "SELECT COUNT(*) AS n FROM breaker_events WHERE kind = 'rollback' AND at > ?",
            (self._since(),),
        )
        count = int(rows[0]["n"])
        tripped = count >= self.limit
        reason = (
            f"{count} rollbacks within the last hour (limit {self.limit}): evolution paused"
            if tripped
            else f"{count}/{self.limit} rollbacks within the last hour"
        )
        return BreakerState(tripped, count, self.limit, reason)

    def record_rollback(self, candidate_id: str, reason: str) -> BreakerState:
        """Count a rollback; when this trips the breaker, pause through the kill switch."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO breaker_events(kind, candidate_id, reason, at) VALUES ('rollback', ?, ?, ?)",
                (candidate_id, reason, self.clock()),
            )
        state = self.state()
        if state.tripped and self.switch is not None:
            self.switch.pause("circuit-breaker", state.reason)
        return state

    def reset(self, reason: str = "resumed") -> None:
        """Forget rollbacks so far (called when a person resumes evolution)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO breaker_events(kind, candidate_id, reason, at) VALUES ('reset', NULL, ?, ?)",
                (reason, self.clock()),
            )
