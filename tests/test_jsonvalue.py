"""to_json_safe's fast path must give exactly what the plain recursive definition gives."""

from __future__ import annotations

import enum
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from theseus._jsonvalue import UNSERIALIZABLE, marker, to_json_safe


def reference(value: object, depth: int = 0) -> Any:
    """The definition, written plainly (the implementation before its fast path)."""
    if depth > 50:
        return marker(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else marker(value)
    if isinstance(value, list | tuple):
        return [reference(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: reference(v, depth + 1) for k, v in value.items()}
        return marker(value)
    return marker(value)


class Colour(enum.IntEnum):
    RED = 1


class Name(str):
    pass


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=5),
    st.floats(allow_nan=True, allow_infinity=True), st.just(Colour.RED),
    st.builds(Name, st.text(max_size=3)), st.just(b"bytes"), st.just({1, 2}),
)  # fmt: skip
keys = st.one_of(st.text(max_size=3), st.integers(), st.builds(Name, st.text(max_size=3)))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=400, deadline=None)
@given(values)
def test_the_fast_path_matches_the_definition(value: object) -> None:
    assert same(to_json_safe(value), reference(value))


def test_the_depth_limit_is_the_same_on_both_paths() -> None:
    for depth in (49, 50, 51, 52):
        nested: Any = "leaf"
        for _ in range(depth):
            nested = [nested]
        assert same(to_json_safe(nested), reference(nested))
        deep: Any = {"k": 1}
        for _ in range(depth):
            deep = {"d": deep}
        assert same(to_json_safe(deep), reference(deep))


def test_the_copy_is_deep_and_markers_name_the_type() -> None:
    state = {"items": [1, {"x": 2}]}
    copy = to_json_safe(state)
    copy["items"][1]["x"] = 3
    assert state["items"][1]["x"] == 2  # type: ignore[index]
    assert to_json_safe({1: "a"})[UNSERIALIZABLE] == "dict"
    assert to_json_safe(float("nan"))[UNSERIALIZABLE] == "float"
