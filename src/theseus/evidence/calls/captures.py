"""One outbound call in flight, and its recorded form once the task ends.

A capture does as little as it can while the call runs (the agent is waiting): an HTTP
capture keeps references to the request and, as the agent reads the response, its chunks
(at most :data:`MAX_RECORDED_BYTES`, whatever the response's size); a tool capture takes its
arguments JSON-safe when it is called, before the agent can change them. Redaction,
fingerprints and body encoding happen in :meth:`encoded`, when the task ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from theseus._jsonvalue import dumps, to_json_safe
from theseus.evidence.calls.failures import error_text
from theseus.evidence.calls.fingerprint import tool_fingerprint
from theseus.evidence.calls.redact import scrub_text
from theseus.evidence.calls.scope import ToolSpec
from theseus.evidence.calls.wire import HttpRequest, describe, encode_response

__all__ = ["MAX_RECORDED_BYTES", "Encoded", "HttpCapture", "ToolCapture", "bound_arguments"]

MAX_RECORDED_BYTES = 256 * 1024


@dataclass(slots=True)
class Encoded:
    """A capture's recorded form before the task's size budget is applied."""

    kind: Literal["model", "http", "tool"]
    target: str
    fingerprint: str
    request: Any
    response: Any
    error: str | None
    duration_ms: float
    request_size: int
    response_size: int


class HttpCapture:
    """One HTTP call in flight: the request, then the response's head and consumed bytes."""

    __slots__ = (
        "_encoded",
        "chunks",
        "complete",
        "decoded",
        "duration_ms",
        "error",
        "finished",
        "headers",
        "kept",
        "request",
        "start",
        "status",
        "total",
    )

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.start = time.perf_counter()
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.kept = self.total = 0
        self.decoded = self.complete = self.finished = False
        self.error: BaseException | None = None
        self.duration_ms = 0.0
        self._encoded: Encoded | None = None

    def head(self, status: int, headers: list[tuple[str, str]], *, decoded: bool) -> None:
        self.status, self.headers, self.decoded = status, headers, decoded

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.kept < MAX_RECORDED_BYTES:
            piece = chunk[: MAX_RECORDED_BYTES - self.kept]
            self.chunks.append(piece)
            self.kept += len(piece)

    def finish(self, *, complete: bool) -> None:
        if not self.finished:
            self.finished, self.complete = True, complete
            self.duration_ms = (time.perf_counter() - self.start) * 1000.0

    def failed(self, exc: BaseException) -> None:
        self.error = exc
        self.finish(complete=True)

    def encoded(self) -> Encoded:
        if self._encoded is not None:
            return self._encoded
        described = describe(self.request)
        body = self.request.body
        error = response = None
        if self.error is not None:
            error = scrub_text(error_text(self.error), described.secrets)
        elif self.status is not None:
            whole = self.kept == self.total
            response = encode_response(
                self.status,
                self.headers,
                b"".join(self.chunks) if whole else None,
                size=self.total,
                decoded=self.decoded,
                complete=self.finished and self.complete,
                secrets=described.secrets,
            )
        duration = self.duration_ms if self.finished else (time.perf_counter() - self.start) * 1e3
        encoded = Encoded(
            described.kind,
            described.target,
            described.fingerprint,
            described.request,
            response,
            error,
            duration,
            len(body or b""),
            self.total,
        )
        if self.finished:
            self._encoded = encoded  # nothing changes any more: a nested list reuses it
        return encoded


class ToolCapture:
    """One tool call: its arguments as they were when it was called, then its outcome."""

    __slots__ = (
        "_encoded",
        "args",
        "duration_ms",
        "error",
        "fingerprint",
        "finished",
        "name",
        "result",
        "start",
    )

    def __init__(self, tool: ToolSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.name = tool.name
        self.args = to_json_safe({"args": list(args), "kwargs": kwargs})
        self.fingerprint = tool_fingerprint(tool.name, bound_arguments(tool, args, kwargs))
        self.result: Any = None
        self.error: str | None = None
        self.finished = False
        self.start = time.perf_counter()
        self.duration_ms = 0.0
        self._encoded: Encoded | None = None

    def done(self, result: Any = None, exc: BaseException | None = None) -> None:
        self.duration_ms = (time.perf_counter() - self.start) * 1000.0
        if exc is not None:
            self.error = error_text(exc)
        else:
            self.result = to_json_safe(result)
        self.finished = True

    def encoded(self) -> Encoded:
        if self._encoded is not None:
            return self._encoded
        error = self.error if self.finished else "NotFinished: still running at the task's end"
        encoded = Encoded(
            "tool",
            self.name,
            self.fingerprint,
            self.args,
            self.result,
            error,
            self.duration_ms,
            len(dumps(self.args)),
            len(dumps(self.result)),
        )
        if self.finished:
            self._encoded = encoded
        return encoded


def bound_arguments(tool: ToolSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The arguments by parameter name, defaults applied, JSON-safe: what the fingerprint of
    a tool call hashes. Arguments that do not bind are hashed as given."""
    if tool.signature is not None:
        try:
            bound = tool.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return to_json_safe(dict(bound.arguments))
        except TypeError:
            pass
    return to_json_safe({"args": list(args), "kwargs": kwargs})
