"""The recorded failure the proposer tests work on: ``calc.ops.add(2, 3)`` returned -1.

Shared by the agent and command proposer tests, whose tiny ``calc`` projects both carry the
same ``a - b`` bug, and a recorder for what a proposer tells the cycle.
"""

from __future__ import annotations

from theseus.evidence.records import FailureBatch, Frame, Oracle, ReplayCase
from theseus.gate.budgets import CycleBudget
from theseus.propose.base import Rejected


def wrong_sum_batch() -> FailureBatch:
    """One semantic failure of ``add`` with its expected answer, traced to calc/ops.py:2."""
    case = ReplayCase(task_id="t-1", function="calc.ops:add", input={"args": [2, 3], "kwargs": {}},
                      oracle=Oracle(kind="expected", expected=5))  # fmt: skip
    return FailureBatch(
        signature="wrong-sum", kind="semantic", title="add(2, 3) returns -1", count=2,
        severity="high", score=4.0, first_seen=1.0, last_seen=2.0, task_ids=["t-1"],
        cases=[case], frames=[Frame(file="calc/ops.py", line=2, function="add")],
        location="calc/ops.py:add",
    )  # fmt: skip


class Watch:
    """What a proposer told the cycle: notes, rejected answers, and what it spent."""

    def __init__(self, spending: CycleBudget | None = None) -> None:
        self.notes: list[str] = []
        self.rejected: list[Rejected] = []
        self.spending = spending if spending is not None else CycleBudget()
