"""A client's report of a wrong answer, over HTTP: ``POST /tasks/{task_id}/reports``.

The body is what :func:`theseus.report_failure` takes (``kind``, ``expected``, ``note``,
``severity``); the task must be one the service recorded (its id came back in the reply),
and the caller must hold that task's session token or the admin credential, so a client can
report against its own answers only. The report is written with the evidence of the same
event-loop pass (:mod:`theseus.runtime.groupcommit`) before the service answers 201.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from theseus.errors import EvidenceError
from theseus.evidence.expectations import NO_EXPECTED, make_report
from theseus.evidence.records import FailureReport, TaskRecord
from theseus.runtime.failures import NoTask, Unavailable
from theseus.runtime.supervisor import Supervisor

__all__ = ["ReportBody", "file_report", "reported_task"]


class ReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(default="wrong_answer", min_length=1, max_length=100, pattern=r"\S")
    expected: Any = Field(default=None, description="the right answer; omit when unknown")
    note: str = Field(default="", max_length=4000)
    severity: Literal["low", "medium", "high"] = "medium"


def reported_task(sup: Supervisor, task_id: str) -> TaskRecord:
    """The recorded task a report names; NoTask (404) for an id the service never gave."""
    if not 1 <= len(task_id) <= 128:
        raise NoTask(f"no task {task_id[:40]!r}", hint="report against a reply's task_id")
    try:
        task = sup.relay.task(task_id)
    except EvidenceError as exc:
        raise Unavailable(f"the evidence store cannot be read: {exc.line()}") from None
    if task is None:
        raise NoTask(
            f"no task {task_id[:40]!r} was recorded by this service",
            hint="report against the task_id a reply carried",
        )
    return task


async def file_report(sup: Supervisor, task: TaskRecord, body: ReportBody) -> FailureReport:
    """Write the report for ``task``; returns it (its id is the client's receipt)."""
    given = "expected" in body.model_fields_set
    report = make_report(  # EvidenceError: a report that could never be used, 400
        task.id,
        kind=body.kind,
        expected=body.expected if given else NO_EXPECTED,
        note=body.note,
        severity=body.severity,
        task=task,
    )
    try:
        await sup.relay.add_report(report)
    except EvidenceError as exc:
        raise Unavailable(f"the report could not be recorded: {exc.line()}") from None
    sup.events.emit("evidence", {"event": "report", "task": task.id, "kind": report.kind})
    return report
