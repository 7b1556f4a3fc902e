"""Where the runtime reports what happened: runtime events and evidence.

Events (deploys, cut-overs, crashes, rollbacks) go to an in-memory ring for ``GET /events``
and to one callback, ``on_event(kind, payload)``, that the service wires to the audit log.
Runtime failures (a crash of a non-idempotent task, a timeout, a failed migration, a
rollback) become evidence task records against the version that caused them, so the
evolution loop sees them like any other failure. Neither sink may break serving: a failing
sink is reported on stderr and the request goes on.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from theseus._jsonvalue import to_json_safe
from theseus.config import Settings
from theseus.evidence.records import ErrorInfo, TaskRecord
from theseus.evidence.store import EvidenceStore

EvidenceSink = Callable[[TaskRecord], None]


class EventLog:
    """The last runtime events, and the audit callback."""

    def __init__(self, sink: Callable[[str, dict[str, Any]], Any] | None, keep: int = 500) -> None:
        self.sink = sink
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        self.recent.append({"kind": kind, "time": time.time(), **payload})
        if self.sink is None:
            return
        try:
            self.sink(kind, payload)
        except Exception as exc:  # the audit trail failing must not take the service down
            print(f"theseus: could not record {kind} event: {exc}", file=sys.stderr)


def store_sink(settings: Settings) -> EvidenceSink:
    """Evidence written to the project's store, opened on first use."""
    lock = threading.Lock()
    holder: list[Any] = []

    def add(record: TaskRecord) -> None:
        with lock:
            if not holder:
                holder.append(EvidenceStore(settings.evidence_path))
            holder[0].add_task(record)

    return add


def record_failure(
    sink: EvidenceSink,
    *,
    function: str,
    session_id: str | None,
    args: list[Any],
    version: str,
    error_type: str,
    message: str,
    started: float,
) -> None:
    """One runtime failure as an evidence task record (never raises)."""
    record = TaskRecord(
        id=uuid.uuid4().hex,
        function=function,
        session_id=session_id,
        input={"args": to_json_safe(args), "kwargs": {}},
        error=ErrorInfo(type=error_type, message=message),
        duration_ms=max(0.0, (time.perf_counter() - started) * 1000.0),
        code_version=version,
        started_at=time.time(),
    )
    try:
        sink(record)
    except Exception as exc:
        print(f"theseus: could not record runtime failure as evidence: {exc}", file=sys.stderr)
