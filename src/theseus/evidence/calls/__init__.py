"""A task's outbound calls: recorded with the task, served again in replay.

Why: an agent's behaviour depends on what its model, the HTTP services and its tools answered.
A failing task can only be replayed faithfully (and a changed agent verified offline, in a
sandbox without network) if those answers are part of the evidence. So inside a recording
``@theseus.task`` every call through the openai and anthropic SDKs (httpx2 underneath),
httpx, requests and every ``@theseus.tool`` function is recorded in order as a
:class:`~theseus.evidence.records.RecordedCall` on the task's record; in replay,
:func:`replay_calls` serves them back and reports what the recording lacks.

The modules, one job each: :mod:`.redact` (credentials are never recorded),
:mod:`.fingerprint` (what makes two calls the same), :mod:`.wire` (an HTTP exchange as
JSON), :mod:`.failures` (errors recorded and raised again), :mod:`.scope` (where an
intercepted call goes), :mod:`.captures` (one call in flight), :mod:`.record` (the
per-task recording), :mod:`.patch` (patching
libraries once, lazily), :mod:`.http_httpx` and :mod:`.http_requests` (the interception),
:mod:`.tools` (``@tool``), :mod:`.replay` (serving), :mod:`.forward` and
:mod:`.forward_protocol` (forwarding from the sandbox to one endpoint).

Part of the evidence stage: imports the foundation and :mod:`theseus.evidence.records` only,
never httpx, requests or the SDKs themselves (it patches what the process has imported), and
loads its names on first use so the SDK stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "MAX_RECORDED_BYTES",
    "VOLATILE_BODY_FIELDS",
    "CallForwarder",
    "ForwardClient",
    "RecordedError",
    "ReplaySession",
    "UnrecordedCall",
    "http_fingerprint",
    "replay_calls",
    "tool",
    "tool_fingerprint",
]

if TYPE_CHECKING:
    from theseus.evidence.calls.captures import MAX_RECORDED_BYTES
    from theseus.evidence.calls.failures import RecordedError, UnrecordedCall
    from theseus.evidence.calls.fingerprint import (
        VOLATILE_BODY_FIELDS,
        http_fingerprint,
        tool_fingerprint,
    )
    from theseus.evidence.calls.forward import CallForwarder, ForwardClient
    from theseus.evidence.calls.replay import ReplaySession, replay_calls
    from theseus.evidence.calls.tools import tool

_WHERE = {
    "MAX_RECORDED_BYTES": "captures",
    "VOLATILE_BODY_FIELDS": "fingerprint",
    "CallForwarder": "forward",
    "ForwardClient": "forward",
    "RecordedError": "failures",
    "ReplaySession": "replay",
    "UnrecordedCall": "failures",
    "http_fingerprint": "fingerprint",
    "replay_calls": "replay",
    "tool": "tools",
    "tool_fingerprint": "fingerprint",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'theseus.evidence.calls' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"theseus.evidence.calls.{module}"), name)
    globals()[name] = value
    return value
