"""The one interface every proposer implements (repair engine, LLM, coding agent, command).

A proposer turns a failure batch plus the code around it into candidate patches. It yields
them lazily, best first, so the caller (the evolve cycle) can stop at the first good one and
never pays for candidates it does not need. Each proposer receives the same
:class:`ProposalContext`: where the code is, what may change, what failed, what was already
tried for this failure, how much time and how many candidates it may spend, and a
:class:`Validator` it can call to check a candidate cheaply (failing checks first) before
handing it over. Search-based proposers lean on the validator heavily; an LLM proposer may
only use it to filter out samples that obviously do not work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from theseus.change.candidate import Candidate
from theseus.evidence.records import FailureBatch
from theseus.paths import PathRules


@dataclass(frozen=True)
class ValidationOutcome:
    """What a cheap validation of one diff found.

    ``failing_fixed`` / ``failing_total`` count the checks that failed before the change;
    ``broke`` counts checks that passed before and fail now. With stop-on-first-failure the
    counts cover only what ran, which is enough to rank and to reject.
    """

    passed: bool
    failing_fixed: int = 0
    failing_total: int = 0
    broke: int = 0
    detail: str = ""


@runtime_checkable
class Validator(Protocol):
    """Evaluates a unified diff against the failing checks first, then everything else."""

    def validate(self, diff: str, *, stop_on_first_failure: bool = True) -> ValidationOutcome: ...


@dataclass
class SearchBudget:
    """How much a proposer may spend: a wall-clock deadline and a number of candidates."""

    deadline: float
    max_candidates: int

    @classmethod
    def from_seconds(cls, seconds: float, max_candidates: int) -> SearchBudget:
        return cls(deadline=time.monotonic() + seconds, max_candidates=max_candidates)

    def seconds_left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline


@dataclass(frozen=True)
class Attempt:
    """One earlier attempt for the same failure signature: a diff hash or description, how
    it ended (a candidate status) and, when known, why and what it changed, so a model can
    be told not to repeat it."""

    key: str
    outcome: str
    reason: str = ""
    diff: str = ""


@runtime_checkable
class Spending(Protocol):
    """Where a proposer charges model tokens and money before and after each call.

    The evolution cycle's budget implements it; ``would_exceed`` answers, before a call,
    whether spending that much more would break a limit (the reason, else None), so a
    proposer stops *before* the call that would overrun the budget.
    """

    def charge(self, *, tokens: int = 0, cost_usd: float = 0.0) -> None: ...

    def would_exceed(self, *, tokens: int = 0, cost_usd: float = 0.0) -> str | None: ...


@dataclass(frozen=True)
class Rejected:
    """An answer a proposer threw away before it became a candidate (a lazy answer: prose
    only, placeholders, no change; or an edit that does not apply), kept for the record."""

    proposer: str
    reason: str
    excerpt: str = ""
    tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class ProposalContext:
    """Everything a proposer needs, and nothing of the stages after it.

    ``batch`` is set in the Theseus flow; ``test_command`` in standalone use (``theseus
    repair``), where the failing test run is the only evidence. ``policy_check`` takes a
    candidate's unified diff and returns True when the project's policy accepts it; mutants
    that fail it are never run. ``spending`` is charged for model tokens and money;
    ``on_rejected`` hears about answers thrown away before they became candidates; ``notes``
    takes one-line messages for the person watching (an unreachable endpoint, say).
    ``verified_after`` says every candidate is then verified in the sandbox by a cold run of
    the same checks (the evolution cycle), so a proposer need not prove its own runs cold.
    """

    root: Path
    base_commit: str
    rules: PathRules
    budget: SearchBudget
    batch: FailureBatch | None = None
    test_command: str | None = None
    attempts: Sequence[Attempt] = ()
    validator: Validator | None = None
    policy_check: Callable[[str], bool] | None = None
    workers: int = 2
    test_timeout: float = 60.0
    spending: Spending | None = None
    on_rejected: Callable[[Rejected], None] | None = None
    notes: Callable[[str], None] | None = None
    extra: dict[str, object] = field(default_factory=dict)
    verified_after: bool = False

    def already_tried(self, key: str) -> bool:
        return any(attempt.key == key for attempt in self.attempts)


@runtime_checkable
class Proposer(Protocol):
    """A source of candidate patches; ``propose`` is lazy and yields the best first."""

    name: str

    def propose(self, ctx: ProposalContext) -> Iterator[Candidate]: ...
