"""Matchers: equal means equal (bool is not 1), partial means a subset at any depth, and every
malformed matcher is refused with one line naming where it is."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from theseus import oracles
from theseus.oracles import matcher_problem, mismatch

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)


@given(JSON)
def test_a_plain_value_matches_itself(value: Any) -> None:
    assert mismatch(value, value) is None


@given(st.dictionaries(st.text(max_size=3), JSON, min_size=1, max_size=4), st.data())
def test_partial_matches_any_subset_of_keys_and_fails_on_a_changed_one(
    reply: dict[str, Any], data: st.DataObject
) -> None:
    keys = data.draw(st.lists(st.sampled_from(sorted(reply)), unique=True, min_size=1))
    subset = {key: reply[key] for key in keys}
    assert mismatch(oracles.partial(subset), reply) is None
    changed = {**subset, keys[0]: {"changed": [subset[keys[0]]]}}
    problem = mismatch(oracles.partial(changed), reply)
    assert problem is not None and "\n" not in problem


def test_partial_is_deep_and_names_the_place() -> None:
    reply = {"order": {"id": "A1", "total": 12.5, "items": [1, 2]}, "task_id": "x"}
    assert mismatch(oracles.partial({"order": {"total": 12.5}}), reply) is None
    assert mismatch(oracles.partial({"order": {"total": 13}}), reply) == (
        "reply.order.total: expected 13, got 12.5"
    )
    assert mismatch(oracles.partial({"order": {"note": 1}}), reply) == "reply.order: no key 'note'"


def test_exact_objects_need_the_same_keys_and_bool_is_not_a_number() -> None:
    assert mismatch({"a": 1}, {"a": 1, "b": 2}) == "reply: unexpected key 'b'"
    assert mismatch({"a": True}, {"a": 1}) == "reply.a: expected True, got 1"
    assert mismatch(1, 1.0) is None
    assert mismatch("1", 1) is not None


def test_the_other_matchers() -> None:
    assert mismatch(oracles.contains("refund"), "your refund is on its way") is None
    assert mismatch(oracles.contains({"id": 2}), [{"id": 1}, {"id": 2}]) is None
    assert mismatch(oracles.contains("x"), 3) is not None
    assert mismatch(oracles.regex(r"^order [a-z]\d+$", flags="i"), "Order A1") is None
    assert mismatch(oracles.regex(r"^\d+$"), "12a") is not None
    assert mismatch(oracles.approx(0.3, rel=1e-9), 0.1 + 0.2) is None
    assert mismatch(oracles.approx(0.3), 0.31) is not None
    assert mismatch(oracles.approx(1.0), True) is not None
    schema = oracles.schema({"type": "object", "required": ["total"]})
    assert mismatch(schema, {"total": 1}) is None
    assert "schema" in (mismatch(schema, {}) or "")
    assert mismatch([oracles.anything(), 2], ["whatever", 2]) is None


def test_a_predicate_is_run_by_the_resolver_and_its_errors_fail_the_case() -> None:
    spec = oracles.predicate("tests.oracles:polite")
    functions = {"tests.oracles:polite": lambda reply: "please" in reply}
    assert mismatch(spec, "please wait", resolve=functions.__getitem__) is None
    assert "said no" in (mismatch(spec, "wait", resolve=functions.__getitem__) or "")
    assert "raised ZeroDivisionError" in (
        mismatch(spec, "x", resolve=lambda name: lambda reply: 1 / 0) or ""
    )
    assert "cannot be run" in (mismatch(spec, "x") or "")


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"$theseus": "fuzzy"}, "unknown matcher 'fuzzy'"),
        ({"$theseus": "partial", "value": [1]}, "partial matches objects"),
        ({"$theseus": "regex", "pattern": "("}, "does not compile"),
        ({"$theseus": "regex", "pattern": "a", "flags": "q"}, "flags"),
        ({"$theseus": "approx", "value": "1"}, "finite numbers"),
        ({"$theseus": "approx", "value": 1, "rel": -1}, "negative"),
        ({"$theseus": "schema", "schema": {"type": 12}}, "not a valid JSON Schema"),
        ({"$theseus": "predicate", "name": "os.system"}, "module:function"),
        ({"$theseus": "contains", "value": 1, "extra": 2}, "takes no extra"),
        ({"reply": [{"$theseus": "nope"}]}, "expected.reply[0]: unknown matcher"),
    ],
)
def test_malformed_matchers_are_refused_with_one_line(spec: Any, says: str) -> None:
    problem = matcher_problem(spec)
    assert problem is not None and says in problem and "\n" not in problem


def test_the_constructors_refuse_what_the_check_refuses() -> None:
    with pytest.raises(ValueError, match="does not compile"):
        oracles.regex("(")
    with pytest.raises(ValueError, match="negative"):
        oracles.approx(1.0, rel=-1)
    with pytest.raises(ValueError, match="module:function"):
        oracles.predicate("not a name")
