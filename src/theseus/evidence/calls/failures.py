"""How an outbound call fails: recorded as ``"Type: message"``, raised again in replay.

A recorded error is raised again as its own class when that class can be found among the
modules already imported and built from the message (an ``httpx.ConnectError``, the agent's
own ``ToolError``: the agent's ``except`` clauses then behave as they did), else as a
:class:`RecordedError`, a ``RuntimeError`` subclass named after the recorded type and
carrying the recorded message. A call the recording lacks raises :class:`UnrecordedCall`.
"""

from __future__ import annotations

import builtins
import sys
from typing import Any

from theseus.evidence.capture import qualified_type

__all__ = ["RecordedError", "UnrecordedCall", "error_text", "rebuild_error"]

REASONS = {
    "not_recorded": "the recording has no call like it",
    "truncated": "its recording was cut at the per-task size cap, so it cannot be served",
    "unserializable": "its recorded result is not JSON, so it cannot be served",
    "incomplete": "its recording holds no whole answer (still in flight when the task ended)",
    "refused": "the call forwarder refused it",
    "forward_failed": "the call forwarder did not answer",
    "tool": "a tool call is never forwarded (tools have side effects)",
}


class UnrecordedCall(Exception):
    """A call made in replay that the recording cannot serve; ``call`` says which.

    Its message starts with ``unrecorded_call:`` and names the target. The agent may catch
    it; the replay still fails, as the session lists the call in ``unrecorded``.
    """

    def __init__(self, call: dict[str, Any], detail: str | None = None) -> None:
        self.call = call
        reason = detail or REASONS.get(str(call.get("reason")), str(call.get("reason")))
        super().__init__(
            f"unrecorded_call: {call.get('target')} (call {call.get('seq')},"
            f" fingerprint {str(call.get('fingerprint'))[:12]}): {reason}"
        )


class RecordedError(RuntimeError):
    """Stands for a recorded exception whose class cannot be found or built again."""

    recorded_type = "RuntimeError"


_named: dict[str, type[RecordedError]] = {}


def error_text(exc: BaseException) -> str:
    """``"Type: message"``; the type qualified by its module unless it is a builtin."""
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not break the agent's call
        message = "<str() failed>"
    return f"{qualified_type(type(exc))}: {message}"


def rebuild_error(text: str, *attempts: dict[str, Any]) -> Exception:
    """The exception recorded as ``text``. Each of ``attempts`` is keyword arguments to try
    along with the message (``{"request": request}`` for an httpx error), before none."""
    name, _, message = text.partition(": ")
    found = _resolve(name)
    if found is not None:
        for kwargs in (*attempts, {}):
            try:
                return found(message, **kwargs)
            except Exception:
                continue
    short = name.rpartition(".")[2] or "RecordedError"
    kind = _named.get(name)
    if kind is None:
        kind = type(short if short.isidentifier() else "RecordedError", (RecordedError,), {})
        kind.recorded_type = name
        _named[name] = kind
    return kind(message)


def _resolve(name: str) -> type[Exception] | None:
    parts = name.split(".")
    found: Any = None
    if len(parts) == 1:
        found = getattr(builtins, name, None)
    else:
        for cut in range(len(parts) - 1, 0, -1):
            module = sys.modules.get(".".join(parts[:cut]))
            if module is None:
                continue
            found = module
            for attr in parts[cut:]:
                found = getattr(found, attr, None)
            break
    if isinstance(found, type) and issubclass(found, Exception):
        return found
    return None
