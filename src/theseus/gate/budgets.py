"""A per-cycle budget: wall time, candidates, LLM tokens and money.

One object is charged by every stage of a cycle; whichever limit is reached first ends the
cycle's work with a reason a person can read ("budget: 2000 candidates reached"). Limits
left as None are not enforced (the offline repair engine spends no tokens or money).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from theseus.config import BudgetSettings
from theseus.errors import TheseusError


@dataclass
class CycleBudget:
    """What one cycle may spend, and what it has spent so far."""

    max_seconds: float | None = None
    max_candidates: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    candidates: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @classmethod
    def from_settings(
        cls, settings: BudgetSettings, clock: Callable[[], float] = time.monotonic
    ) -> CycleBudget:
        return cls(
            max_seconds=settings.cycle_seconds,
            max_candidates=settings.cycle_candidates,
            max_tokens=settings.cycle_tokens,
            max_cost_usd=settings.cycle_cost_usd,
            clock=clock,
        )

    def charge(self, *, candidates: int = 0, tokens: int = 0, cost_usd: float = 0.0) -> None:
        """Add spending (never negative)."""
        if candidates < 0 or tokens < 0 or cost_usd < 0:
            raise TheseusError("a budget charge cannot be negative")
        self.candidates += candidates
        self.tokens += tokens
        self.cost_usd += cost_usd

    def would_exceed(self, *, tokens: int = 0, cost_usd: float = 0.0) -> str | None:
        """Why spending ``tokens`` / ``cost_usd`` more would break a limit, else None.

        Asked before a model call with its worst case (prompt plus the most output it may
        produce), so the call that would overrun the budget is never made.
        """
        if self.max_tokens is not None and self.tokens + tokens > self.max_tokens:
            return (
                f"budget: {self.max_tokens} LLM tokens would be exceeded"
                f" ({self.tokens} used, the next call may take {tokens})"
            )
        if self.max_cost_usd is not None and self.cost_usd + cost_usd > self.max_cost_usd:
            return (
                f"budget: ${self.max_cost_usd:.2f} would be exceeded"
                f" (${self.cost_usd:.4f} spent, the next call may cost ${cost_usd:.4f})"
            )
        return None

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def remaining_seconds(self) -> float | None:
        return None if self.max_seconds is None else max(0.0, self.max_seconds - self.elapsed)

    @property
    def reason(self) -> str | None:
        """Which limit is reached, or None while there is budget left."""
        if self.max_seconds is not None and self.elapsed >= self.max_seconds:
            return f"budget: {self.max_seconds:g} s of wall time used"
        if self.max_candidates is not None and self.candidates >= self.max_candidates:
            return f"budget: {self.max_candidates} candidates reached"
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            return f"budget: {self.max_tokens} LLM tokens used"
        if self.max_cost_usd is not None and self.cost_usd >= self.max_cost_usd:
            return f"budget: ${self.max_cost_usd:.2f} spent"
        return None

    @property
    def exhausted(self) -> bool:
        return self.reason is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "elapsed_s": round(self.elapsed, 3),
            "candidates": self.candidates,
            "tokens": self.tokens,
            "cost_usd": round(self.cost_usd, 6),
            "limits": {
                "seconds": self.max_seconds,
                "candidates": self.max_candidates,
                "tokens": self.max_tokens,
                "cost_usd": self.max_cost_usd,
            },
            "exhausted": self.reason,
        }
