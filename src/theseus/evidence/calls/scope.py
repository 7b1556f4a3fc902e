"""Where an intercepted call goes: nowhere special, a recording, or a replay.

Every patched library and every ``@tool`` asks :func:`current` first. Outside a recording
task and outside replay the answer is None after one context-variable lookup (and one
module global read), and the call runs exactly as if Theseus were not there. Inside a
recording ``@task`` it is a :class:`~.record.Recording`; inside ``replay_calls`` a
:class:`~.replay.ReplaySession`, which is also installed process-wide while it lasts, so a
call from a thread that did not inherit the context is served or refused too, never sent.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from theseus.evidence.calls.wire import HttpRequest, Served

__all__ = ["Scope", "ToolSpec", "current", "scope_var"]

log = logging.getLogger("theseus.evidence")


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A ``@tool`` function: its recorded name and its signature (for binding arguments)."""

    name: str
    fn: Callable[..., Any]
    signature: inspect.Signature | None = field(default=None, compare=False)


class Scope:
    """What intercepted calls are handed to. A recording sends them and writes them down; a
    replay answers them from the evidence and never sends (``replaying`` tells which)."""

    replaying = False

    def warn(self, key: str, exc: BaseException) -> None:
        """A problem of Theseus's own while handling a call (never the agent's)."""
        log.warning("theseus: %s: %s: %s", key, type(exc).__name__, exc)

    def start_http(self, request: HttpRequest) -> Any:
        """Recording: the capture the response is fed into, or None (then just send)."""
        return None

    def serve_http(self, request: HttpRequest) -> Served:
        """Replay: the response (or error) to give back, or raise UnrecordedCall."""
        raise NotImplementedError

    def call_tool(self, tool: ToolSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise NotImplementedError

    async def call_tool_async(
        self, tool: ToolSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        raise NotImplementedError


scope_var: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "theseus_calls_scope", default=None
)
_process: list[Scope] = []  # replay sessions installed process-wide, innermost last


def current() -> Scope | None:
    """The scope of this context; else a replay running in this process; else None."""
    found = scope_var.get()
    if found is None and _process:
        return _process[-1]
    return found


def push_process(scope: Scope) -> None:
    _process.append(scope)


def pop_process(scope: Scope) -> None:
    if scope in _process:
        _process.remove(scope)
