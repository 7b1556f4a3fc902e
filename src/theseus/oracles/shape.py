"""The shape of a reply: what an agent's successful answers look like, and reports that cannot match.

A crash case used to pass when the call merely stopped raising, so a "fix" that returned
``''`` where prices were expected looked as good as the right one. A crash case now also
requires the reply to have the shape of the agent's *successful* replies to inputs of the
same kind: the curator infers a JSON Schema from those replies (genson; integers widened to
numbers, keys every reply had made required) and replay validates the candidate's reply
against it (jsonschema).

The second half is the report check: an ``expected`` object whose keys are a proper subset
of the reply's keys can never equal that reply; the user almost certainly meant
``theseus.partial``, so such a report is refused with one line saying so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from theseus.oracles.matchers import MARK, is_matcher, mismatch

__all__ = ["MIN_SAMPLES", "infer_reply_schema", "input_kind", "reply_problem", "report_problem"]

MIN_SAMPLES = 3
_DISCRIMINATORS = ("type", "kind", "intent", "action", "command", "op", "tool", "route")


def input_kind(task_input: Any) -> str:
    """A coarse name for the kind of request a task input is, to compare like with like.

    The first argument decides (the message of ``handle(message, state)``): an object by its
    discriminator field when it has one (``type``, ``kind``, ``intent``...), else by its keys;
    any other value by its JSON type.
    """
    args = task_input.get("args") if isinstance(task_input, dict) else None
    first = args[0] if isinstance(args, list) and args else None
    if isinstance(first, dict):
        for key in _DISCRIMINATORS:
            value = first.get(key)
            if isinstance(value, str):
                return f"{key}={value}"
        return "keys=" + ",".join(sorted(str(k) for k in first))
    return type(first).__name__


def infer_reply_schema(replies: Iterable[Any]) -> dict[str, Any] | None:
    """A JSON Schema every given reply satisfies, or None with fewer than MIN_SAMPLES."""
    from genson import SchemaBuilder

    builder = SchemaBuilder(schema_uri=None)
    count = 0
    for reply in replies:
        builder.add_object(reply)
        count += 1
    if count < MIN_SAMPLES:
        return None
    schema: dict[str, Any] = _widen(builder.to_schema())
    return schema


def _widen(node: Any) -> Any:
    """Integers become numbers: a price of 12 in the samples must not refuse 12.5."""
    if isinstance(node, list):
        return [_widen(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _widen(value) for key, value in node.items()}
    kind = out.get("type")
    if kind == "integer":
        out["type"] = "number"
    elif isinstance(kind, list) and "integer" in kind:
        kinds = ["number" if k == "integer" else k for k in kind]
        out["type"] = list(dict.fromkeys(kinds))
    if "anyOf" in out:
        out["anyOf"] = _dedupe(out["anyOf"])
    return out


def _dedupe(options: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for option in options:
        if option not in seen:
            seen.append(option)
    return seen


def reply_problem(schema: dict[str, Any] | None, reply: Any) -> str | None:
    """Why ``reply`` does not have the successful replies' shape (one line), or None."""
    if schema is None:
        return None
    return mismatch({MARK: "schema", "schema": schema}, reply, where="reply")


def report_problem(expected: Any, output: Any) -> str | None:
    """Why a report's ``expected`` is useless against what the task returned, or None.

    Two cases are refused: an object compared exactly whose keys are a proper subset of the
    reply's (it can never be equal: compare those keys with ``theseus.partial``), and an
    expected value the reply already matches (nothing would be wrong, so nothing to fix).
    """
    if (
        isinstance(expected, dict)
        and not is_matcher(expected)
        and isinstance(output, dict)
        and set(expected) < set(output)
    ):
        extra = ", ".join(sorted(str(k) for k in set(output) - set(expected))[:4])
        return (
            f"expected has only some of the reply's keys (the reply also has {extra}), so it"
            " can never equal the reply; wrap it in theseus.partial(...) or"
            ' {"$theseus": "partial", "value": ...} to compare just those keys'
        )
    if mismatch(expected, output) is None and not _has_predicate(expected):
        return "expected matches what the task returned; a report needs the answer it should have given"
    return None


def _has_predicate(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get(MARK) == "predicate":
            return True
        return any(_has_predicate(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_predicate(item) for item in value)
    return False
