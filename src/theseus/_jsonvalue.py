"""JSON-safe values: what evidence can store and replay.

Anything the agent passes that JSON cannot hold is kept as a clear marker instead of
failing the agent's call, so replay can tell "this input was not captured" apart from data.
"""

from __future__ import annotations

import json
import math
from typing import Any

JSONValue = Any
UNSERIALIZABLE = "__theseus_unserializable__"
_MAX_REPR = 200


def marker(value: object) -> dict[str, str]:
    """The stand-in recorded for a value JSON cannot hold."""
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not break the agent's call
        text = "<repr failed>"
    return {UNSERIALIZABLE: type(value).__qualname__, "repr": text[:_MAX_REPR]}


_EXACT_SCALARS = frozenset({str, int, bool, type(None)})
_MAX_DEPTH = 50


def to_json_safe(value: object, _depth: int = 0) -> JSONValue:
    """A deep copy of ``value`` made only of JSON types, with markers where needed.

    It runs on every recorded call (input, output, state), so the common shapes (plain
    dicts, lists and scalars of exactly those types) take a fast path on ``type() is``;
    subclasses, floats and anything else take the general one, with the same result."""
    kind = type(value)
    if kind in _EXACT_SCALARS and _depth <= _MAX_DEPTH:
        return value
    if _depth < _MAX_DEPTH:  # children are at most at the limit: no depth check for them
        if kind is dict:
            out = {}
            for key, item in value.items():  # type: ignore[attr-defined]
                if type(key) is not str and not isinstance(key, str):
                    return marker(value)
                out[key] = item if type(item) in _EXACT_SCALARS else to_json_safe(item, _depth + 1)
            return out
        if kind is list or kind is tuple:
            return [
                item if type(item) in _EXACT_SCALARS else to_json_safe(item, _depth + 1)
                for item in value  # type: ignore[attr-defined]
            ]
    return _general(value, _depth)


def _general(value: object, _depth: int) -> JSONValue:
    if _depth > _MAX_DEPTH:
        return marker(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else marker(value)
    if isinstance(value, list | tuple):
        return [to_json_safe(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: to_json_safe(v, _depth + 1) for k, v in value.items()}
        return marker(value)
    return marker(value)


def has_marker(value: JSONValue) -> bool:
    """Whether any part of ``value`` is an unserialisable marker (replay cannot use it)."""
    if isinstance(value, dict):
        return UNSERIALIZABLE in value or any(has_marker(v) for v in value.values())
    if isinstance(value, list):
        return any(has_marker(v) for v in value)
    return False


def dumps(value: JSONValue) -> str:
    """Canonical JSON text (sorted keys, no spaces) so equal values hash equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
