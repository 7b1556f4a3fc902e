"""What one evolution cycle did, per failure signature, in a form people and JSON can read."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from theseus.runtime import DeployVerdict

__all__ = ["OUTCOMES", "CycleReport", "SignatureOutcome", "SignatureResult"]

SignatureResult = Literal[
    "paused",
    "parked",
    "fixed_before",
    "returned",
    "no_candidate",
    "rejected_policy",
    "invalid",
    "failed",
    "rejected",
    "promoted",
    "rolled_back",
    "budget",
]
"""How one signature's turn in a cycle ended, in the order the cycle can reach them."""

OUTCOMES: tuple[str, ...] = get_args(SignatureResult)

# Results that leave nothing for the next cycle to try on this signature.
_SETTLED = frozenset({"promoted", "fixed_before", "parked", "returned"})


@dataclass
class SignatureOutcome:
    """One failure signature's way through the cycle."""

    signature: str
    title: str
    count: int
    outcome: SignatureResult
    reason: str = ""
    candidate_id: str | None = None
    commit: str | None = None
    diff: str = ""
    candidates: int = 0
    seconds: float = 0.0
    deploy: DeployVerdict | None = None
    live: str = ""  # promoted fixes: deployed live (and how it went) or committed only, and why
    proposer: str = ""
    tokens: int = 0
    cost_usd: float = 0.0
    rejected: int = 0  # model answers thrown away before they became candidates
    searched_ahead: bool = False  # its search ran during the previous fix's health watch
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["deploy"] = self.deploy.as_json() if self.deploy is not None else None
        return data


@dataclass
class CycleReport:
    """Every signature the cycle looked at, and what the cycle as a whole ended with."""

    cycle: int
    base_commit: str
    head_commit: str = ""
    outcomes: list[SignatureOutcome] = field(default_factory=list)
    stopped: str | None = None  # why the cycle ended early (pause, budget), else None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    tokens: int = 0
    cost_usd: float = 0.0

    @property
    def promoted(self) -> list[SignatureOutcome]:
        return [o for o in self.outcomes if o.outcome == "promoted"]

    @property
    def open_signatures(self) -> list[SignatureOutcome]:
        """Signatures still failing and still worth another try (not parked, not fixed)."""
        return [o for o in self.outcomes if o.outcome not in _SETTLED]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcomes"] = [o.as_json() for o in self.outcomes]
        data["promoted"] = len(self.promoted)
        return data
