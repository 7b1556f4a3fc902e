"""The traffic generator and its oracle, in process (recording off)."""

from __future__ import annotations

from collections import Counter

import pytest

pytestmark = pytest.mark.usefixtures("example_on_path")


def test_generation_is_deterministic_and_varied() -> None:
    from traffic import generate

    first, again = generate(80, seed=3), generate(80, seed=3)
    assert first == again
    assert generate(80, seed=4) != first
    intents = Counter(turn.intent for script in first for turn in script.turns)
    for intent in ["refund_quote", "delivery_estimate", "return_window", "convert", "identify"]:
        assert intents[intent] >= 5, intents
    assert all(len(script.turns) >= 2 for script in first)


def test_every_message_carries_a_date() -> None:
    from traffic import generate

    for script in generate(30, seed=1):
        for turn in script.turns:
            assert set(turn.message) == {"text", "date"}


def test_drive_reports_wrong_answers_with_the_expected_reply() -> None:
    from traffic import Result, drive, generate

    reports: list[tuple[str, dict[str, object]]] = []

    def always_wrong(session_id: str, message: dict[str, object]) -> Result:
        return Result({"intent": "nonsense", "text": "?", "data": {}}, None, f"t-{session_id}")

    def report(task_id: str, **fields: object) -> None:
        reports.append((task_id, fields))

    outcome = drive(generate(10, seed=5), always_wrong, report)
    assert outcome.requests == sum(len(s.turns) for s in generate(10, seed=5))
    assert outcome.wrong_answers == outcome.checked > 0
    assert len(reports) == outcome.wrong_answers
    task_id, fields = reports[0]
    assert task_id.startswith("t-s5-")
    assert str(fields["kind"]).startswith("wrong_")
    assert isinstance(fields["expected"], dict) and "intent" in fields["expected"]


def test_errors_are_counted_and_reported_with_the_due_answer() -> None:
    from traffic import Result, drive, generate

    reports: list[str] = []

    def failing(session_id: str, message: dict[str, object]) -> Result:
        return Result(None, "RuntimeError: boom", "task-1")

    outcome = drive(generate(5, seed=2), failing, lambda task_id, **_: reports.append(task_id))
    assert outcome.exceptions == outcome.requests
    assert outcome.failures == Counter({"error:RuntimeError": outcome.requests})
    assert reports and set(reports) == {"task-1"}
