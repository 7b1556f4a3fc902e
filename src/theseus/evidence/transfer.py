"""Moving evidence between machines: JSONL, one record per line.

Each line is ``{"task": {...TaskRecord...}}`` or ``{"report": {...FailureReport...}}``. Import
validates every line with the same pydantic models the SDK records with, and stores all of a
file or none of it, so a truncated or hand-edited file never leaves half an import behind.
Export writes a temporary file and renames it, so a reader never sees a partial file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import ValidationError

from theseus._atomic import write_text_atomic
from theseus.errors import EvidenceError
from theseus.evidence.records import FailureReport, TaskRecord
from theseus.evidence.store import EvidenceStore

KINDS = ("task", "report")


def export_lines(tasks: Iterable[TaskRecord], reports: Iterable[FailureReport]) -> Iterator[str]:
    """The JSONL lines (without newline) for these records, tasks first."""
    for task in tasks:
        yield '{"task":' + task.model_dump_json() + "}"
    for report in reports:
        yield '{"report":' + report.model_dump_json() + "}"


def export_jsonl(
    store: EvidenceStore,
    path: Path,
    *,
    since: float | None = None,
    code_version: str | None = None,
    failed_only: bool = False,
) -> tuple[int, int]:
    """Write the store's records (filtered like ``store.tasks``) to ``path`` atomically.

    Reports go with the tasks they are about; returns (tasks, reports) written.
    """
    tasks = store.tasks(failed_only=failed_only, since=since, code_version=code_version)
    if failed_only:  # a task that returned but was reported wrong is a failure too
        wanted = {r.task_id for r in store.reports()} - {t.id for t in tasks}
        extra = [
            t
            for t in store.tasks_by_ids(sorted(wanted))
            if (since is None or t.started_at >= since)
            and (code_version is None or t.code_version == code_version)
        ]
        tasks = sorted([*tasks, *extra], key=lambda t: (t.started_at, t.id))
    ids = {t.id for t in tasks}
    reports = [r for r in store.reports() if r.task_id in ids]
    write_atomic(path, "".join(line + "\n" for line in export_lines(tasks, reports)))
    return len(tasks), len(reports)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise EvidenceError(f"cannot write {path}: {exc.strerror}") from None


def parse_jsonl(text: str, source: str = "<input>") -> tuple[list[TaskRecord], list[FailureReport]]:
    """Validate every line; the first bad one raises EvidenceError naming line and field."""
    tasks: list[TaskRecord] = []
    reports: list[FailureReport] = []
    # split on "\n" only: str.splitlines would also split inside strings at U+0085, U+2028...
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        where = f"{source} line {number}"
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise EvidenceError(
                f"{where}: not valid JSON ({exc.msg} at column {exc.colno})",
                hint="each line must be one JSON object as written by `theseus evidence export`",
            ) from None
        if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in KINDS:
            raise EvidenceError(
                f"{where}: expected an object with exactly one key, 'task' or 'report'",
                hint="each line must be as written by `theseus evidence export`",
            )
        kind, body = next(iter(item.items()))
        try:
            if kind == "task":
                tasks.append(TaskRecord.model_validate(body))
            else:
                reports.append(FailureReport.model_validate(body))
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in (kind, *error["loc"]))
            raise EvidenceError(f"{where}: field '{field}': {error['msg']}") from None
    return tasks, reports


def import_jsonl(store: EvidenceStore, path: Path) -> tuple[int, int]:
    """Import a JSONL file all-or-nothing; returns (tasks, reports) added, duplicates skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise EvidenceError(f"cannot read {path}: {reason}") from None
    tasks, reports = parse_jsonl(text, source=Path(path).name)
    return store.add_many(tasks, reports)
