"""Recording a task's outbound calls, in order, scoped by a context variable.

``begin`` at the start of a recording ``@task`` puts a :class:`Recording` in the context;
every intercepted call made in that context (threads started with ``asyncio.to_thread`` or
``contextvars.copy_context`` included) adds a capture to it; ``Handle.end`` takes the calls
out as :class:`RecordedCall` s. The hot path does as little as it can (:mod:`.captures`); the
work of turning captures into records happens once, at the end of the task.

Nested tasks: the calls belong to the *outermost* recording task, the one replay runs (the
entrypoint), numbered from 0 in its own order; a nested ``@task`` keeps its own list too
(numbered from 0 within it), as it may itself become a replay case. Each list has its own
size budget: past :data:`MAX_RECORDED_BYTES` of bodies in one task, a call's bodies are
replaced by ``{"__theseus_truncated__": <bytes>}`` and replay reports that call as one it
cannot serve; past :data:`MAX_RECORDED_CALLS` calls, the rest are not recorded (one warning).

Nothing here may fail the agent's call: every step is guarded, and a problem is one warning
through the callback the SDK passes in (``sdk._writer.warn``).

Why not vcrpy for this: it patches the libraries process-wide when a cassette is entered and
unpatches them when it is left, which is neither cheap per task (measured: about 2.3 ms per
task that makes no call at all, against about 3 µs here) nor safe when tasks overlap in
threads or on an event loop; and its httpx stub reads a response to its end before the agent
sees a byte, which would turn every streamed model answer into a buffered one in the serving
path (and record bytes the agent never consumed).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import Any

from theseus.errors import EvidenceError
from theseus.evidence.calls.captures import MAX_RECORDED_BYTES, HttpCapture, ToolCapture
from theseus.evidence.calls.patch import ensure_patched
from theseus.evidence.calls.scope import Scope, ToolSpec, current, scope_var
from theseus.evidence.calls.wire import TRUNCATED, HttpRequest
from theseus.evidence.records import RecordedCall

__all__ = ["MAX_RECORDED_BYTES", "MAX_RECORDED_CALLS", "CallLog", "Handle", "Recording", "begin"]

MAX_RECORDED_CALLS = 1000  # per task: a loop of calls must not grow a record without bound
Warn = Callable[[str, BaseException], None]


class CallLog:
    """The captures of one task, in the order the calls started."""

    def __init__(self) -> None:
        self.captures: list[HttpCapture | ToolCapture] = []
        self.lock = threading.Lock()

    def add(self, capture: HttpCapture | ToolCapture) -> None:
        with self.lock:
            self.captures.append(capture)

    def calls(self, warn: Warn) -> list[RecordedCall]:
        with self.lock:
            captures = list(self.captures)
        out: list[RecordedCall] = []
        left = MAX_RECORDED_BYTES
        for capture in captures:
            try:
                enc = capture.encoded()
            except Exception as exc:
                warn("calls", exc)
                continue
            request, response = enc.request, enc.response
            if enc.request_size + enc.response_size <= left:
                left -= enc.request_size + enc.response_size
            else:  # over the budget: the response goes first, then the request if need be
                response = _truncated(response, enc.response_size, enc.kind)
                if enc.request_size <= left:
                    left -= enc.request_size
                else:
                    request = _truncated(request, enc.request_size, enc.kind)
            out.append(
                RecordedCall.model_construct(
                    seq=len(out),
                    kind=enc.kind,
                    target=enc.target,
                    fingerprint=enc.fingerprint,
                    request=request,
                    response=response,
                    error=enc.error,
                    duration_ms=enc.duration_ms,
                )
            )
        return out


def _truncated(value: Any, size: int, kind: str) -> Any:
    if kind == "tool":
        return {TRUNCATED: size}
    if isinstance(value, dict) and "body" in value:
        return {**value, "body": {TRUNCATED: size}}
    return value


class Recording(Scope):
    """The scope of a recording task: calls are sent, and captured into every open log."""

    def __init__(self, logs: tuple[CallLog, ...], warn: Warn) -> None:
        self.logs = logs
        self._warn = warn

    def warn(self, key: str, exc: BaseException) -> None:
        self._warn(key, exc)

    def _add(self, capture: HttpCapture | ToolCapture) -> None:
        if len(self.logs[0].captures) >= MAX_RECORDED_CALLS:
            raise EvidenceError(
                f"a task made more than {MAX_RECORDED_CALLS} outbound calls; the rest are not"
                " recorded, and replay will report them as unrecorded calls"
            )
        for log in self.logs:
            log.add(capture)

    def start_http(self, request: HttpRequest) -> HttpCapture | None:
        try:
            capture = HttpCapture(request)
            self._add(capture)
            return capture
        except Exception as exc:
            self.warn("calls", exc)
            return None

    def _start_tool(
        self, tool: ToolSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> ToolCapture | None:
        try:
            capture = ToolCapture(tool, args, kwargs)
            self._add(capture)
            return capture
        except Exception as exc:
            self.warn("calls", exc)
            return None

    def _done(
        self, capture: ToolCapture | None, result: Any = None, exc: BaseException | None = None
    ) -> None:
        if capture is not None:
            try:
                capture.done(result, exc)
            except Exception as problem:
                self.warn("calls", problem)

    # A tool's body runs outside the recording: replay serves the tool call without running
    # the body, so the calls the body makes would only ever be left unused.

    def call_tool(self, tool: ToolSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        capture = self._start_tool(tool, args, kwargs)
        token = scope_var.set(None)
        try:
            result = tool.fn(*args, **kwargs)
        except BaseException as exc:
            self._done(capture, exc=exc)
            raise
        finally:
            scope_var.reset(token)
        self._done(capture, result)
        return result

    async def call_tool_async(
        self, tool: ToolSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        capture = self._start_tool(tool, args, kwargs)
        token = scope_var.set(None)
        try:
            result = await tool.fn(*args, **kwargs)
        except BaseException as exc:
            self._done(capture, exc=exc)
            raise
        finally:
            scope_var.reset(token)
        self._done(capture, result)
        return result


class Handle:
    """One recording task's hold on the scope; ``end`` restores the scope and gives the calls."""

    __slots__ = ("log", "recording", "token")

    def __init__(self, recording: Recording, token: contextvars.Token[Scope | None]) -> None:
        self.recording = recording
        self.log = recording.logs[-1]
        self.token: contextvars.Token[Scope | None] | None = token

    def end(self) -> list[RecordedCall]:
        """The task's calls; idempotent (the scope is restored the first time)."""
        token, self.token = self.token, None
        if token is not None:
            with contextlib.suppress(ValueError):  # ended in another context: leave that alone
                scope_var.reset(token)
        try:
            return self.log.calls(self.recording.warn)
        except Exception as exc:
            self.recording.warn("calls", exc)
            return []


def begin(warn: Warn) -> Handle | None:
    """Start recording the calls of a task in this context; None inside a replay (replayed
    calls are served, not recorded) or when setting up failed (warned)."""
    try:
        ensure_patched()
        outer = current()
        if outer is not None and outer.replaying:
            return None
        logs = (*outer.logs, CallLog()) if isinstance(outer, Recording) else (CallLog(),)
        recording = Recording(logs, warn)
        return Handle(recording, scope_var.set(recording))
    except Exception as exc:
        warn("calls", exc)
        return None
