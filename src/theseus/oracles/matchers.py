"""What a reported ``expected`` value means: equal, or a matcher.

A report's ``expected`` is JSON. A plain value must be equal to the reply (objects with the
same keys, lists of the same length, ``true`` never equal to ``1``). A matcher is an object
with the reserved key ``"$theseus"`` naming what it checks, so matchers travel unchanged
through HTTP bodies, JSONL files and the store, and nest inside plain values and inside one
another::

    theseus.partial({"total": 12.5})          # these keys (at any depth), others ignored
    theseus.contains("refund")                # substring of a string, element of a list
    theseus.regex(r"^Order [A-Z]\\d+")         # re.search on a string
    theseus.approx(12.5, rel=1e-3)            # a number within tolerance
    theseus.schema({"type": "object", ...})   # JSON Schema (jsonschema)
    theseus.predicate("tests.oracles:polite") # a named function of the project, reply -> bool
    theseus.anything()                        # any value (a field you do not care about)

This module is imported inside the sandbox by the generated replay tests, so it needs only
the standard library (jsonschema is imported when a schema matcher is used).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "MARK",
    "anything",
    "approx",
    "contains",
    "is_matcher",
    "matcher_problem",
    "mismatch",
    "partial",
    "predicate",
    "regex",
    "schema",
]

MARK = "$theseus"
_KINDS = ("partial", "contains", "regex", "approx", "schema", "predicate", "anything")
_PREDICATE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}

Resolver = Callable[[str], Callable[[Any], Any]]


def partial(value: dict[str, Any]) -> dict[str, Any]:
    """Match an object that has (at least) these keys, each matching; others are ignored."""
    return _checked({MARK: "partial", "value": value})


def contains(value: Any) -> dict[str, Any]:
    """Match a string containing ``value`` (a string), or a list with an element matching it."""
    return _checked({MARK: "contains", "value": value})


def regex(pattern: str, *, flags: str = "") -> dict[str, Any]:
    """Match a string in which ``pattern`` is found (``re.search``); flags from ``"imsx"``."""
    return _checked({MARK: "regex", "pattern": pattern, "flags": flags})


def approx(value: float, *, rel: float = 1e-6, abs: float = 1e-12) -> dict[str, Any]:
    """Match a number within ``rel`` (relative) or ``abs`` (absolute) of ``value``."""
    return _checked({MARK: "approx", "value": value, "rel": rel, "abs": abs})


def schema(json_schema: dict[str, Any]) -> dict[str, Any]:
    """Match a value valid under a JSON Schema."""
    return _checked({MARK: "schema", "schema": json_schema})


def predicate(name: str) -> dict[str, Any]:
    """Match when the project's function ``"module:function"`` returns true for the reply.

    The function must live outside the mutable code (a candidate could otherwise rewrite
    its own grader); replay refuses the case when it does not.
    """
    return _checked({MARK: "predicate", "name": name})


def anything() -> dict[str, Any]:
    """Match any value: for a field whose value does not matter."""
    return {MARK: "anything"}


def _checked(spec: dict[str, Any]) -> dict[str, Any]:
    problem = matcher_problem(spec)
    if problem is not None:
        raise ValueError(problem)
    return spec


def is_matcher(value: Any) -> bool:
    return isinstance(value, dict) and MARK in value


def matcher_problem(spec: Any, where: str = "expected") -> str | None:
    """Why ``spec`` is not a well-formed expected value (checked at every depth), or None."""
    if isinstance(spec, list):
        for index, item in enumerate(spec):
            problem = matcher_problem(item, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if not isinstance(spec, dict):
        return None
    if MARK not in spec:
        for key, item in spec.items():
            problem = matcher_problem(item, _at(where, key))
            if problem:
                return problem
        return None
    kind = spec[MARK]
    if kind not in _KINDS:
        return f"{where}: unknown matcher {kind!r}; use one of {', '.join(_KINDS)}"
    return _problem_of(kind, spec, where)


def _problem_of(kind: str, spec: dict[str, Any], where: str) -> str | None:
    allowed = {
        "partial": {"value"},
        "contains": {"value"},
        "regex": {"pattern", "flags"},
        "approx": {"value", "rel", "abs"},
        "schema": {"schema"},
        "predicate": {"name"},
        "anything": set(),
    }[kind]
    extra = set(spec) - allowed - {MARK}
    if extra:
        return f"{where}: matcher {kind!r} takes no {', '.join(sorted(extra))}"
    if kind == "partial":
        if not isinstance(spec.get("value"), dict):
            return f"{where}: partial matches objects; give it an object of the keys to check"
        return matcher_problem(spec["value"], where)
    if kind == "contains":
        return matcher_problem(spec.get("value"), where)
    if kind == "regex":
        flags = spec.get("flags", "")
        if not isinstance(spec.get("pattern"), str):
            return f"{where}: regex needs a string pattern"
        if not isinstance(flags, str) or set(flags) - set(_FLAGS):
            return f"{where}: regex flags must be letters from 'imsx', got {flags!r}"
        try:
            re.compile(spec["pattern"])
        except re.error as exc:
            return f"{where}: regex {spec['pattern']!r} does not compile: {exc}"
        return None
    if kind == "approx":
        numbers = [spec.get("value"), spec.get("rel", 0.0), spec.get("abs", 0.0)]
        if not all(_is_number(n) and math.isfinite(n) for n in numbers):
            return f"{where}: approx needs finite numbers for value, rel and abs"
        if spec.get("rel", 0.0) < 0 or spec.get("abs", 0.0) < 0:
            return f"{where}: approx tolerances must not be negative"
        return None
    if kind == "schema":
        return _schema_problem(spec.get("schema"), where)
    if kind == "predicate":
        name = spec.get("name")
        if not isinstance(name, str) or not _PREDICATE.match(name):
            return f"{where}: predicate needs a name 'module:function', got {name!r}"
    return None


def _schema_problem(value: Any, where: str) -> str | None:
    if not isinstance(value, dict | bool):
        return f"{where}: schema needs a JSON Schema object"
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(value)
    except jsonschema.SchemaError as exc:
        return f"{where}: not a valid JSON Schema: {exc.message}"
    return None


def _at(where: str, key: Any) -> str:
    """``where.key``, or ``where['odd key']`` for a key that is not a plain name (one line)."""
    text = str(key)
    return f"{where}.{text}" if text.isidentifier() else f"{where}[{text!r}]"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def mismatch(
    expected: Any, got: Any, *, resolve: Resolver | None = None, where: str = "reply"
) -> str | None:
    """Why ``got`` does not match ``expected``, as one line naming the place; None if it does.

    ``resolve`` turns a predicate's name into the function (replay passes one that imports
    from the workspace); without it a predicate cannot be judged and never matches.
    """
    if is_matcher(expected):
        return _match(expected, got, resolve, where)
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{where}: expected an object, got {_show(got)}"
        missing = [key for key in expected if key not in got]
        if missing:
            return f"{where}: no key {missing[0]!r}"
        extra = [key for key in got if key not in expected]
        if extra:
            return f"{where}: unexpected key {extra[0]!r}"
        for key, item in expected.items():
            problem = mismatch(item, got[key], resolve=resolve, where=_at(where, key))
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(got, list):
            return f"{where}: expected a list, got {_show(got)}"
        if len(got) != len(expected):
            return f"{where}: expected {len(expected)} items, got {len(got)}"
        for index, (want, have) in enumerate(zip(expected, got, strict=True)):
            problem = mismatch(want, have, resolve=resolve, where=f"{where}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(expected, bool) or isinstance(got, bool):
        same = isinstance(expected, bool) and isinstance(got, bool) and expected == got
    else:
        same = type(expected) is type(got) or (_is_number(expected) and _is_number(got))
        same = same and expected == got
    return None if same else f"{where}: expected {_show(expected)}, got {_show(got)}"


def _partial(
    expected: dict[str, Any], got: Any, resolve: Resolver | None, where: str
) -> str | None:
    if not isinstance(got, dict):
        return f"{where}: expected an object, got {_show(got)}"
    for key, want in expected.items():
        if key not in got:
            return f"{where}: no key {key!r}"
        place = _at(where, key)
        if isinstance(want, dict) and not is_matcher(want):
            problem = _partial(want, got[key], resolve, place)  # partial at every depth
        else:
            problem = mismatch(want, got[key], resolve=resolve, where=place)
        if problem:
            return problem
    return None


def _match(spec: dict[str, Any], got: Any, resolve: Resolver | None, where: str) -> str | None:
    kind = spec[MARK]
    if kind == "anything":
        return None
    if kind == "partial":
        return _partial(spec["value"], got, resolve, where)
    if kind == "contains":
        want = spec["value"]
        if isinstance(got, str) and isinstance(want, str):
            return None if want in got else f"{where}: {_show(got)} does not contain {want!r}"
        if isinstance(got, list):
            if any(mismatch(want, item, resolve=resolve) is None for item in got):
                return None
            return f"{where}: no item matches {_show(want)}"
        return f"{where}: contains needs a string or a list, got {_show(got)}"
    if kind == "regex":
        if not isinstance(got, str):
            return f"{where}: expected a string matching {spec['pattern']!r}, got {_show(got)}"
        flags = 0
        for letter in spec.get("flags", ""):
            flags |= _FLAGS[letter]
        if re.search(spec["pattern"], got, flags):
            return None
        return f"{where}: {_show(got)} does not match {spec['pattern']!r}"
    if kind == "approx":
        want = spec["value"]
        if not _is_number(got):
            return f"{where}: expected a number near {want}, got {_show(got)}"
        if math.isclose(got, want, rel_tol=spec.get("rel", 1e-6), abs_tol=spec.get("abs", 1e-12)):
            return None
        return f"{where}: expected about {want}, got {got}"
    if kind == "schema":
        import jsonschema

        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(spec["schema"]).iter_errors(got)
        )
        return None if error is None else f"{where}: schema: {error.message}"
    return _predicate(spec["name"], got, resolve, where)


def _predicate(name: str, got: Any, resolve: Resolver | None, where: str) -> str | None:
    if resolve is None:
        return f"{where}: predicate {name} cannot be run here"
    try:
        verdict = resolve(name)(got)
    except Exception as exc:  # the grader failed: the case fails, with its reason
        return f"{where}: predicate {name} raised {type(exc).__name__}: {exc}"
    return None if verdict else f"{where}: predicate {name} said no to {_show(got)}"
