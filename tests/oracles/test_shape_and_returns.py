"""The reply shape inferred from successes, the report check, and the return-type watch."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from theseus.oracles import (
    ReturnTypeWatch,
    infer_reply_schema,
    input_kind,
    reply_problem,
    report_problem,
)


def test_input_kind_uses_a_discriminator_or_the_keys() -> None:
    assert input_kind({"args": [{"type": "quote", "n": 1}, {}]}) == "type=quote"
    assert input_kind({"args": [{"b": 1, "a": 2}]}) == "keys=a,b"
    assert input_kind({"args": ["hello"]}) == "str"
    assert input_kind({"kwargs": {}}) == "NoneType"


def test_the_inferred_shape_accepts_its_kind_and_refuses_another() -> None:
    replies: list[Any] = [
        {"total": 148, "currency": "EUR"},
        {"total": 76.0, "currency": "EUR"},
        {"total": 230.5, "currency": "EUR", "note": "late checkout"},
    ]
    schema = infer_reply_schema(replies)
    assert reply_problem(schema, {"total": 12.25, "currency": "EUR"}) is None  # int widened
    assert reply_problem(schema, "sorry, no quote") is not None
    assert reply_problem(schema, {"total": "", "currency": "EUR"}) is not None
    assert reply_problem(schema, {"currency": "EUR"}) is not None  # total was always there
    assert infer_reply_schema(replies[:2]) is None  # too few to say
    assert reply_problem(None, "anything") is None


def test_the_report_check_refuses_a_key_subset_and_an_answer_already_given() -> None:
    reply = {"text": "Hi", "task_id": "t1", "items": []}
    assert "theseus.partial" in (report_problem({"text": "Hello"}, reply) or "")
    assert report_problem({"$theseus": "partial", "value": {"text": "Hello"}}, reply) is None
    assert report_problem({"text": "Hi", "task_id": "t1", "items": [1]}, reply) is None
    assert "matches what the task returned" in (report_problem(reply, reply) or "")
    assert report_problem({"text": "Hi", "extra": 1}, reply) is None  # a missing key may be the bug


@pytest.fixture
def loyalty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "loyalty_mod.py").write_text(
        textwrap.dedent(
            '''
            from __future__ import annotations

            POINTS = {"ada": 120}

            def points(customer: str) -> int:
                return POINTS.get(customer, "")

            def raising(customer: str) -> int:
                raise KeyError(customer)

            def caller(customer: str) -> int:
                try:
                    return raising(customer)
                except KeyError:
                    return 0

            def untyped(customer):
                return ""

            def optional(customer: str) -> int | None:
                return None
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import loyalty_mod

    return tmp_path, loyalty_mod


def test_a_wrong_typed_return_is_named_and_a_right_one_is_not(loyalty: Any) -> None:
    root, mod = loyalty
    targets = [f"loyalty_mod.py:{name}" for name in ("points", "caller", "raising", "untyped")]
    with ReturnTypeWatch(str(root), targets) as watch:
        assert mod.points("ada") == 120
    assert watch.problems == []
    with ReturnTypeWatch(str(root), targets) as watch:
        mod.points("bo")
        mod.caller("bo")  # raising() leaves by an exception: not a return of None
        mod.untyped("bo")  # no annotation: not judged
    assert len(watch.problems) == 1
    assert watch.problems[0].startswith("loyalty_mod.py:points returned '' (str), annotated -> int")


def test_only_the_named_functions_are_watched_and_the_profiler_is_restored(loyalty: Any) -> None:
    import sys

    root, mod = loyalty
    before = sys.getprofile()
    with ReturnTypeWatch(str(root), ["loyalty_mod.py:optional"]) as watch:
        mod.points("bo")
        assert mod.optional("x") is None
    assert watch.problems == [] and sys.getprofile() is before
