"""``@theseus.tool``: a function whose calls are part of the task's evidence.

A tool is whatever the agent calls that reaches outside it other than over HTTP: a database
lookup, a file write, a shell command, a payment. Inside a recording ``@task`` each call is
recorded in order with the model and HTTP calls (its arguments as they were when it was
called, its result or ``"Type: message"`` exception). In replay the recorded outcome is
given back *without running the body* (tools have side effects; replaying a refund must not
refund again) and a call the recording lacks is an ``unrecorded_call``. Anywhere else the
decorated function runs as if undecorated, after one context-variable lookup.

A replayed result is the recorded JSON value: a tuple comes back as a list, and a result
JSON cannot hold (an object) was recorded as a marker, so replay reports it as a call it
cannot serve rather than hand the agent a marker.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from theseus.evidence.calls.scope import ToolSpec, current

__all__ = ["tool"]

P = ParamSpec("P")
R = TypeVar("R")


@overload
def tool(fn: Callable[P, R]) -> Callable[P, R]: ...
@overload
def tool(
    fn: None = None, *, name: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def tool(
    fn: Callable[P, R] | None = None, *, name: str | None = None
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Record every call of ``fn`` (sync or async) made inside a recording ``@task``, and
    serve it from the recording in replay. Use as ``@tool`` or ``@tool(name="orders.refund")``
    (the default name is ``"module:qualname"``)."""

    def decorate(target: Callable[P, R]) -> Callable[P, R]:
        wrapped: Callable[P, R] = _wrap(target, name)
        return wrapped

    return decorate(fn) if fn is not None else decorate


def _wrap(fn: Callable[..., Any], name: str | None) -> Callable[..., Any]:
    try:
        signature: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None
    spec = ToolSpec(name or f"{fn.__module__}:{fn.__qualname__}", fn, signature)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            scope = current()
            if scope is None:
                return await fn(*args, **kwargs)
            return await scope.call_tool_async(spec, args, kwargs)

        call_async.__theseus_tool__ = spec  # type: ignore[attr-defined]
        return call_async

    @functools.wraps(fn)
    def call_sync(*args: Any, **kwargs: Any) -> Any:
        scope = current()
        if scope is None:
            return fn(*args, **kwargs)
        return scope.call_tool(spec, args, kwargs)

    call_sync.__theseus_tool__ = spec  # type: ignore[attr-defined]
    return call_sync
