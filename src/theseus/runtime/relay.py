"""Evidence a served worker hands back with its answer, checked and written by the supervisor.

Served workers have no access to ``.theseus/`` (see :mod:`theseus.runtime.isolation`), so
their ``@task`` records travel back inside the answer (:mod:`theseus.evidence.recorder`).
What arrives is untrusted: it was made by agent code, possibly a promoted version that
turned out malicious. So each item must validate as a record, a task is attributed to the
version that actually ran it (whatever ``code_version`` it claims), records are only ever
added (an id already in the store is skipped, never overwritten), and one answer carries at
most :data:`~theseus.evidence.recorder.MAX_RELAYED` of them. Writing happens before the
client gets its reply, so a returned call's record is durable as it was when the worker
wrote it itself; the records of answers that arrive in one pass of the event loop share one
transaction (:mod:`theseus.runtime.groupcommit`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from theseus.evidence.recorder import MAX_RELAYED
from theseus.evidence.records import FailureReport, TaskRecord
from theseus.evidence.store import EvidenceStore
from theseus.runtime.groupcommit import GroupCommitter

__all__ = ["EvidenceRelay", "parse_relayed"]

Batch = tuple[list[TaskRecord], list[FailureReport]]


def parse_relayed(items: Any, *, version: str) -> tuple[list[TaskRecord], list[FailureReport], int]:
    """Valid tasks (attributed to ``version``) and reports among ``items``, and how many
    items were refused (malformed, of an unknown kind, or past the per-answer limit)."""
    if not isinstance(items, list):
        return [], [], 0 if items is None else 1
    tasks: list[TaskRecord] = []
    reports: list[FailureReport] = []
    refused = max(0, len(items) - MAX_RELAYED)
    for item in items[:MAX_RELAYED]:
        kind = item.get("kind") if isinstance(item, dict) else None
        body = item.get("record") if isinstance(item, dict) else None
        try:
            if kind == "task" and isinstance(body, dict):
                tasks.append(TaskRecord.model_validate({**body, "code_version": version}))
            elif kind == "report" and isinstance(body, dict):
                reports.append(FailureReport.model_validate(body))
            else:
                refused += 1
        except ValidationError:
            refused += 1
    return tasks, reports, refused


class EvidenceRelay:
    """Writes relayed records into the project's store from one thread of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.refused = 0
        self.written = 0
        self._store: EvidenceStore | None = None
        self._writer: GroupCommitter[Batch, None] = GroupCommitter(self._commit)

    async def write(self, items: Any, *, version: str) -> None:
        """Check ``items`` and write what is valid; never raises (serving goes on)."""
        if not items:
            return
        tasks, reports, refused = parse_relayed(items, version=version)
        if refused:
            self.refused += refused
            print(
                f"theseus: refused {refused} malformed evidence item(s) from a worker of"
                f" {version[:12]}",
                file=sys.stderr,
            )
        if not tasks and not reports:
            return
        try:
            await self._writer.submit((tasks, reports))
        except Exception as exc:
            print(f"theseus: could not record a worker's evidence: {exc}", file=sys.stderr)

    def task(self, task_id: str) -> TaskRecord | None:
        """The recorded task ``task_id``, or None (a reply's task is in by the time it is sent)."""
        return self._open().get_task(task_id)

    async def add_report(self, report: FailureReport) -> None:
        """Write one report (a client's, over HTTP) with this pass's other records; raises
        EvidenceError when the store cannot take it."""
        await self._writer.submit(([], [report]))

    def _open(self) -> EvidenceStore:
        if self._store is None:
            self._store = EvidenceStore(self.path)
        return self._store

    def _commit(self, batch: Sequence[Batch]) -> list[None]:
        self._open()
        assert self._store is not None
        tasks = [task for tasks, _ in batch for task in tasks]
        reports = [report for _, reports in batch for report in reports]
        self.written += sum(self._store.add_many(tasks, reports))
        return [None] * len(batch)

    def close(self) -> None:
        """Finish pending writes and close the store."""
        self._writer.close()
        if self._store is not None:
            self._store.close()
            self._store = None
