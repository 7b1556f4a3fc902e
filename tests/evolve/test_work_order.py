"""The order a cycle works in: traced crashes first, then by score."""

from __future__ import annotations

from theseus.evidence.records import FailureBatch
from theseus.evolve import work_order


def batch(signature: str, score: float, location: str | None) -> FailureBatch:
    return FailureBatch(
        signature=signature,
        kind="semantic" if location is None else "exception",
        title=signature,
        count=int(score),
        severity="high",
        score=score,
        first_seen=0.0,
        last_seen=0.0,
        task_ids=[],
        cases=[],
        location=location,
    )


def test_traced_crashes_come_first_then_each_group_by_score() -> None:
    batches = [
        batch("wrong-a", 90.0, None),
        batch("crash-low", 3.0, "pkg/a.py:f"),
        batch("wrong-b", 40.0, None),
        batch("crash-high", 12.0, "pkg/b.py:g"),
    ]
    order = [b.signature for b in work_order(batches)]
    assert order == ["crash-high", "crash-low", "wrong-a", "wrong-b"]


def test_the_order_keeps_every_batch() -> None:
    batches = [batch(f"s{i}", float(i), None if i % 2 else "m.py:f") for i in range(7)]
    assert sorted(b.signature for b in work_order(batches)) == sorted(b.signature for b in batches)
