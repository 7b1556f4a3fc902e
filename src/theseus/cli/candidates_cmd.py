"""`theseus candidates list|show|diff`: every candidate in the archive."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import click
from rich.syntax import Syntax

from theseus.change.candidate import Candidate
from theseus.cli.output import console, emit, json_option, project_option, table
from theseus.lineage.archive import STATUSES, Archive
from theseus.lineage.state import open_archive, project_root


def _when(stamp: float) -> str:
    return _dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _fixed(scores: dict[str, Any] | None) -> str:
    if not scores:
        return ""
    fixed = scores.get("replay_fixed", scores.get("fixed"))
    total = scores.get("replay_total", scores.get("total"))
    return f"{fixed}/{total}" if fixed is not None and total is not None else ""


def _record(archive: Archive, candidate: Candidate, *, full: bool) -> dict[str, Any]:
    data = candidate.model_dump(mode="json")
    data["scores"] = archive.scores(candidate.id)
    if full:
        data["history"] = [vars(t) for t in archive.history(candidate.id)]
    else:
        data.pop("diff")
    return data


@click.group()
def candidates() -> None:
    """List and inspect every candidate patch the proposers made (the archive)."""


@candidates.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
@click.option("--signature", default=None, help="Only candidates for this failure signature.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the newest N.")
@project_option
@json_option
def list_(
    status: str | None, signature: str | None, limit: int | None, project: str | None, as_json: bool
) -> None:
    """List candidates, oldest first."""
    archive = open_archive(project_root(project))
    try:
        found = archive.list(status=status, signature=signature, limit=limit)
        records = [_record(archive, c, full=False) for c in found]
    finally:
        archive.close()

    def render() -> None:
        rows = [
            (
                r["id"],
                r["status"],
                r["signature"] or "",
                r["proposer"],
                _fixed(r["scores"]),
                _when(r["created_at"]),
            )
            for r in records
        ]
        console.print(
            table(
                f"candidates ({len(rows)})",
                ["id", "status", "signature", "proposer", "fixed", "created"],
                rows,
            )
        )

    emit(records, as_json, render)


@candidates.command("show")
@click.argument("candidate")
@project_option
@json_option
def show(candidate: str, project: str | None, as_json: bool) -> None:
    """Show one CANDIDATE (id or unique prefix): scores, status history and diff."""
    archive = open_archive(project_root(project))
    try:
        record = _record(archive, archive.get(candidate), full=True)
    finally:
        archive.close()

    def render() -> None:
        console.print(f"[bold]candidate {record['id']}[/] - {record['status']}")
        for key in ("signature", "proposer", "parent_id", "base_commit", "rationale"):
            if record.get(key):
                console.print(f"  {key}: {record[key]}", highlight=False)
        scores = record["scores"] or {}
        shown = {k: v for k, v in scores.items() if not isinstance(v, dict | list)}
        if shown:
            console.print(
                "  scores: " + ", ".join(f"{k}={v}" for k, v in shown.items()), highlight=False
            )
        rows = [
            (_when(h["at"]), h["from_status"] or "-", h["to_status"], h["actor"], h["reason"])
            for h in record["history"]
        ]
        console.print(table("history", ["time", "from", "to", "actor", "reason"], rows))
        console.print(Syntax(record["diff"], "diff", theme="ansi_dark", word_wrap=True))

    emit(record, as_json, render)


@candidates.command("diff")
@click.argument("candidate")
@project_option
@json_option
def diff(candidate: str, project: str | None, as_json: bool) -> None:
    """Print a CANDIDATE's diff (syntax-highlighted; plain with --json)."""
    archive = open_archive(project_root(project))
    try:
        found = archive.get(candidate)
    finally:
        archive.close()
    emit(
        {"id": found.id, "base_commit": found.base_commit, "diff": found.diff},
        as_json,
        lambda: console.print(Syntax(found.diff, "diff", theme="ansi_dark", word_wrap=True)),
    )
