"""`theseus evidence`: look at what the agent recorded, and move it between machines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from theseus.cli.output import console, emit, err_console, json_option, project_option, table
from theseus.cli.signature_cmd import forget_cmd, park_cmd, signature_status, unpark_cmd
from theseus.config import SEVERITY_WEIGHT, Settings, load_settings
from theseus.errors import EvidenceError, NotFound, TheseusError
from theseus.evidence.journal import has_evidence
from theseus.evidence.records import FailureBatch, TaskRecord
from theseus.evidence.signature import signature_for
from theseus.evidence.store import EvidenceStore
from theseus.evidence.transfer import export_jsonl, import_jsonl
from theseus.evolve.batches import current_batches
from theseus.paths import rules_from

severity_option = click.option(
    "--min-severity",
    type=click.Choice(list(SEVERITY_WEIGHT)),
    default=None,
    help="Leave out failures below this severity (default: [evidence].min_severity).",
)
since_option = click.option(
    "--since",
    type=float,
    default=None,
    metavar="HOURS",
    help="Only tasks started within the last HOURS hours.",
)
version_option = click.option(
    "--code-version", default=None, help="Only tasks recorded on this code version (git commit)."
)


def _settings(project: str | None) -> Settings:
    return load_settings(Path(project) if project else None)


def _since(hours: float | None) -> float | None:
    if hours is None:
        return None
    if hours <= 0:
        raise EvidenceError(f"--since {hours}: must be a positive number of hours")
    return dt.datetime.now().timestamp() - hours * 3600


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _batches(
    settings: Settings, min_severity: str | None, since: float | None, code_version: str | None
) -> list[FailureBatch]:
    if not has_evidence(settings.evidence_path):
        return []
    return current_batches(
        settings,
        min_severity=min_severity,
        since=since,
        code_version=code_version,
        note=lambda line: err_console.print(f"[yellow]note:[/] {escape(line)}"),
    )


@click.group()
def evidence() -> None:
    """Recorded evidence: failure batches per signature, single tasks, JSONL transfer.

    The agent records every `@theseus.task` call into the project's evidence store
    ([evidence].store, default .theseus/evidence.db). `list` groups the failures by
    signature and ranks them by count x severity, the order the evolution loop fixes them in.
    """


evidence.add_command(park_cmd)
evidence.add_command(unpark_cmd)
evidence.add_command(forget_cmd)


@evidence.command("list")
@project_option
@severity_option
@since_option
@version_option
@json_option
def list_cmd(
    project: str | None,
    min_severity: str | None,
    since: float | None,
    code_version: str | None,
    as_json: bool,
) -> None:
    """List failure batches, ranked: signature, status, title, count and severity, last seen.

    Status is open, parked, fixed in <commit> or returned (failing again after its fix);
    `theseus evidence park|unpark|forget SIG` changes it. Wrong answers are grouped by where
    their runs went (each reported input re-run once in the sandbox), so two bugs behind one
    entrypoint are two rows."""
    settings = _settings(project)
    batches = _batches(settings, min_severity, _since(since), code_version)
    status = signature_status(settings, batches)

    def render() -> None:
        if not batches:
            console.print(f"no failures recorded in {settings.evidence_path}")
            return
        rows = [
            (
                rank,
                b.signature,
                status[b.signature],
                escape(b.title),
                f"{b.count} {b.severity}",
                _when(b.last_seen),
            )
            for rank, b in enumerate(batches, start=1)
        ]
        columns = ("rank", "signature", "status", "title", "count", "last seen")
        console.print(table(f"Failure batches ({settings.evidence_path})", columns, rows))

    emit(
        [{**b.model_dump(mode="json"), "status": status[b.signature]} for b in batches],
        as_json,
        render,
    )


@evidence.command("show")
@click.argument("ref")
@project_option
@json_option
def show_cmd(ref: str, project: str | None, as_json: bool) -> None:
    """Show one failure batch (REF = signature or unique prefix) or one task (REF = task id)."""
    settings = _settings(project)
    if not has_evidence(settings.evidence_path):
        raise NotFound(f"no evidence store at {settings.evidence_path}", hint="record some first")
    with EvidenceStore(settings.evidence_path) as store:
        task = store.get_task(ref)
        if task is None:
            batch = _find_batch(ref, _batches(settings, "low", None, None))
            if batch is not None:
                emit(batch.model_dump(mode="json"), as_json, lambda: _render_batch(batch))
                return
            task_ids = store.task_ids_with_prefix(ref, limit=2)
            if len(task_ids) > 1:
                raise EvidenceError(f"{ref!r} is the start of several task ids; give more of it")
            task = store.get_task(task_ids[0]) if task_ids else None
        if task is None:
            raise NotFound(
                f"no failure signature or task matches {ref!r}",
                hint="see `theseus evidence list` for signatures",
            )
        rules = rules_from(settings.root, settings.paths.mutable, settings.paths.protected)
        reports = store.reports(task.id)
        failed = task.error is not None or bool(reports)
        sig = signature_for(task, reports[-1] if reports else None, rules) if failed else None
        data: dict[str, Any] = {
            "task": task.model_dump(mode="json"),
            "reports": [r.model_dump(mode="json") for r in reports],
            "signature": sig.id if sig else None,
        }
        emit(data, as_json, lambda: _render_task(task, data))


def _find_batch(ref: str, batches: list[FailureBatch]) -> FailureBatch | None:
    matches = [b for b in batches if b.signature.startswith(ref)]
    if len(matches) > 1:
        raise EvidenceError(
            f"{ref!r} is the start of {len(matches)} signatures",
            hint="give more characters; see `theseus evidence list`",
        )
    return matches[0] if matches else None


def _render_batch(batch: FailureBatch) -> None:
    console.print(f"[bold]{escape(batch.title)}[/]", highlight=False)
    console.print(
        f"signature {batch.signature} ({batch.kind}) · {batch.count} failures · "
        f"severity {batch.severity} · score {batch.score:g}\n"
        f"first seen {_when(batch.first_seen)} · last seen {_when(batch.last_seen)}\n"
        f"location {batch.location or '(none in mutable code)'}",
        highlight=False,
        markup=False,
    )
    if batch.frames:
        rows = [(escape(f.file), f.line, escape(f.function), escape(f.code)) for f in batch.frames]
        console.print(table("Trace (outermost first)", ("file", "line", "function", "code"), rows))
    cases = [
        (c.task_id[:12], c.oracle.kind, escape(_short(c.input)), escape(_short(c.oracle.expected)))
        for c in batch.cases
    ]
    console.print(table("Replay cases", ("task", "oracle", "input", "expected"), cases))


def _render_task(task: TaskRecord, data: dict[str, Any]) -> None:
    console.print(f"[bold]task {task.id}[/] {escape(task.function)}", highlight=False)
    console.print(
        f"session {task.session_id} · started {_when(task.started_at)} · "
        f"{task.duration_ms:.2f} ms · code {task.code_version or '(unknown)'} · "
        f"signature {data['signature'] or '(not a failure)'}",
        highlight=False,
        markup=False,
    )
    console.print(f"input  {_short(task.input, 2000)}", highlight=False, markup=False)
    if task.error is not None:
        console.print(task.error.traceback.rstrip(), highlight=False, markup=False)
    else:
        console.print(f"output {_short(task.output, 2000)}", highlight=False, markup=False)
    for report in data["reports"]:
        expected = _short(report["expected"]) if report["has_expected"] else "(not given)"
        console.print(
            f"report {report['kind']} ({report['severity']}): expected {expected} {report['note']}",
            highlight=False,
            markup=False,
        )


def _short(value: Any, limit: int = 80) -> str:
    from theseus._jsonvalue import dumps

    text = dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@evidence.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@project_option
@since_option
@version_option
@click.option("--failed-only", is_flag=True, help="Only tasks that raised or were reported.")
@json_option
def export_cmd(
    file: str,
    project: str | None,
    since: float | None,
    code_version: str | None,
    failed_only: bool,
    as_json: bool,
) -> None:
    """Write the evidence to FILE as JSONL (one task or report per line), atomically."""
    settings = _settings(project)
    with EvidenceStore(settings.evidence_path) as store:
        tasks, reports = export_jsonl(
            store,
            Path(file),
            since=_since(since),
            code_version=code_version,
            failed_only=failed_only,
        )
    result = {"file": str(Path(file).resolve()), "tasks": tasks, "reports": reports}
    emit(
        result,
        as_json,
        lambda: console.print(f"exported {tasks} tasks, {reports} reports to {file}"),
    )


@evidence.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@project_option
@json_option
def import_cmd(file: str, project: str | None, as_json: bool) -> None:
    """Add the records of a JSONL FILE (from `export`); all or nothing, duplicates skipped."""
    settings = _settings(project)
    with EvidenceStore(settings.evidence_path) as store:
        tasks, reports = import_jsonl(store, Path(file))
    result = {"file": str(Path(file).resolve()), "tasks_added": tasks, "reports_added": reports}
    emit(
        result,
        as_json,
        lambda: console.print(f"imported {tasks} new tasks, {reports} new reports from {file}"),
    )


@evidence.command("report")
@click.argument("task_id")
@click.option("--kind", default="wrong_answer", show_default=True, help="The failure's type.")
@click.option(
    "--expected",
    "expected_json",
    default=None,
    metavar="JSON",
    help="The right answer as JSON; it becomes the replay oracle. It may hold matchers, e.g."
    ' \'{"$theseus": "regex", "pattern": "^Refund"}\' (see README: oracles).',
)
@click.option(
    "--partial",
    is_flag=True,
    help="Compare only the keys --expected gives (at any depth); other keys of the reply"
    " are ignored.",
)
@click.option("--note", default="", help="Free text for the person or model fixing it.")
@click.option(
    "--severity",
    type=click.Choice(["low", "medium", "high"]),
    default="medium",
    show_default=True,
)
@click.option(
    "--url",
    default=None,
    help="Report through this live service (default: the one `theseus serve` recorded, if"
    " it runs; else straight into the project's store).",
)
@project_option
@json_option
def report_cmd(
    task_id: str,
    kind: str,
    expected_json: str | None,
    partial: bool,
    note: str,
    severity: str,
    url: str | None,
    project: str | None,
    as_json: bool,
) -> None:
    """Report that task TASK_ID (a reply's task_id) answered wrongly.

    Through the live service when one runs (POST /tasks/{id}/reports, with the project's
    admin credential), else into the project's evidence store. A task id that was never
    recorded is refused: a report must name an answer the agent gave."""
    settings = _settings(project)
    body: dict[str, Any] = {"kind": kind, "note": note, "severity": severity}
    if expected_json is not None:
        try:
            body["expected"] = json.loads(expected_json)
        except json.JSONDecodeError as exc:
            raise EvidenceError(
                f"--expected is not JSON: {exc.msg} at column {exc.colno}",
                hint='quote it for the shell, e.g. --expected \'{"text": "..."}\'',
            ) from None
        if partial:
            if not isinstance(body["expected"], dict):
                raise EvidenceError("--partial needs --expected to be a JSON object of keys")
            body["expected"] = {"$theseus": "partial", "value": body["expected"]}
    elif partial:
        raise EvidenceError("--partial needs --expected", hint="give the keys to compare")
    from theseus.runtime.discovery import find_service

    service = find_service(settings, url)
    if service.url is not None:
        result = _report_to_service(settings, service.url, task_id, body)
    else:
        result = _report_to_store(settings, task_id, body)
    emit(
        result,
        as_json,
        lambda: console.print(
            f"reported {result['kind']} on task {task_id[:12]} ({result['via']})", highlight=False
        ),
    )


def _report_to_service(
    settings: Settings, url: str, task_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    import httpx

    from theseus.runtime.auth import admin_headers, load_admin_token

    try:
        answer = httpx.post(
            f"{url}/tasks/{task_id}/reports",
            json=body,
            headers=admin_headers(load_admin_token(settings)),
            timeout=30.0,
        )
    except httpx.HTTPError as exc:
        raise TheseusError(f"the service at {url} did not answer: {exc}") from None
    data = (
        answer.json()
        if answer.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if answer.status_code == 404:
        raise NotFound(data.get("error", {}).get("message", f"no task {task_id!r}"))
    if answer.status_code != 201:
        error = data.get("error", {})
        raise TheseusError(
            f"the service refused the report: {error.get('message', answer.text[:200])}"
        )
    return {**data, "via": url}


def _report_to_store(settings: Settings, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
    from theseus.evidence.expectations import NO_EXPECTED, make_report

    if not has_evidence(settings.evidence_path):
        raise NotFound(
            f"no evidence store at {settings.evidence_path}, so no task {task_id[:40]!r}",
            hint="run this in the agent's project folder (or pass --project)",
        )
    with EvidenceStore(settings.evidence_path) as store:
        task = store.get_task(task_id)
        if task is None:
            raise NotFound(
                f"no task {task_id[:40]!r} in {settings.evidence_path}",
                hint="report against the task_id a reply carried; `theseus evidence list`",
            )
        report = make_report(
            task_id,
            kind=str(body["kind"]).strip() or "wrong_answer",
            expected=body.get("expected", NO_EXPECTED),
            note=str(body["note"]),
            severity=body["severity"],
            task=task,
        )
        store.add_report(report)
    return {"report_id": report.id, "task_id": task_id, "kind": report.kind, "via": "store"}
