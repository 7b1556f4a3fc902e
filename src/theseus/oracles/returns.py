"""Return values checked against annotations while a replayed crash case runs.

The crash that started this: ``KeyError`` in ``def points(customer) -> int``, "fixed" by a
guard that returns ``''``. The call no longer raised, so the case passed and the fix was
promoted, and prices went wrong. Replay now watches the functions the crash went through (the
recorded traceback's frames in mutable code): each value one of them returns must be of its
annotated return type, checked by typeguard when the call returns.

How: ``sys.setprofile`` (not ``settrace``, which coverage owns during repair trials) sees each
return of a watched code object; a frame left by an exception is told apart from a real
``return`` by the instruction it stopped at. The function object, and from it the type hints,
is found once per code object. Functions without a return annotation, or whose annotation
cannot be resolved, are not judged. Only the calling thread is watched.
"""

from __future__ import annotations

import dis
import gc
import inspect
import os
import typing
from collections.abc import Iterable
from types import CodeType, FrameType, FunctionType
from typing import Any

from theseus.oracles.profiling import ProfileWatch

__all__ = ["ReturnTypeWatch"]

_RETURNS = {dis.opmap[name] for name in ("RETURN_VALUE", "RETURN_CONST") if name in dis.opmap}
_NOT_JUDGED = object()
_LAZY = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


class ReturnTypeWatch(ProfileWatch):
    """``with ReturnTypeWatch(root, ["pkg/mod.py:fn", ...]) as watch: call()`` then
    ``watch.problems``: one line per wrong-typed return, first occurrence of each function."""

    def __init__(self, root: str, targets: Iterable[str]) -> None:
        self._wanted: set[tuple[str, str]] = set()
        for target in targets:
            path, _, function = target.rpartition(":")
            if path and function:
                absolute = os.path.normpath(os.path.join(root, path))
                self._wanted.add((absolute, function))
        self._labels: dict[CodeType, str] = {}
        self._hints: dict[CodeType, Any] = {}
        self._root = root
        self.problems: list[str] = []

    def _active(self) -> bool:
        return bool(self._wanted)

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "return":
            return
        code = frame.f_code
        if code.co_flags & _LAZY:
            return
        label = self._labels.get(code)
        if label is None:
            key = (os.path.normpath(code.co_filename), code.co_name)
            label = f"{os.path.relpath(key[0], self._root)}:{code.co_name}"
            self._labels[code] = label if key in self._wanted else ""
            label = self._labels[code]
        if not label:
            return
        if code.co_code[frame.f_lasti] not in _RETURNS:
            return  # left by an exception, not by a return
        hint = self._hints.get(code)
        if hint is None:
            hint = self._hints[code] = _return_hint(code)
        if hint is _NOT_JUDGED or any(label in line for line in self.problems):
            return
        problem = _check(arg, hint)
        if problem is not None:
            self.problems.append(f"{label} returned {problem}")


def _return_hint(code: CodeType) -> Any:
    for referrer in gc.get_referrers(code):
        if isinstance(referrer, FunctionType) and referrer.__code__ is code:
            try:
                hints = typing.get_type_hints(referrer)
            except Exception:  # an annotation that does not resolve is not judged
                return _NOT_JUDGED
            return hints.get("return", _NOT_JUDGED)
    return _NOT_JUDGED


def _check(value: Any, hint: Any) -> str | None:
    from typeguard import CollectionCheckStrategy, TypeCheckError, check_type

    try:
        check_type(value, hint, collection_check_strategy=CollectionCheckStrategy.ALL_ITEMS)
    except TypeCheckError as exc:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"{shown} ({type(value).__name__}), annotated -> {_name(hint)}: {exc}"
    except Exception:  # typeguard cannot check this annotation: not judged
        return None
    return None


def _name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__qualname__
    return str(hint).replace("typing.", "")
