"""`theseus audit verify|show`: check and read the audit hash chain."""

from __future__ import annotations

from typing import Any

import click

from theseus._jsonvalue import dumps
from theseus.cli.output import console, emit, json_option, project_option, table
from theseus.lineage.audit import KINDS
from theseus.lineage.state import open_audit, project_root


@click.group()
def audit() -> None:
    """Check and read the audit log: an append-only hash chain of every proposal, policy
    decision, verification, gate decision, deploy, health verdict, rollback, pause and
    manual action. Set THESEUS_AUDIT_KEY to key it with HMAC-SHA256."""


@audit.command("verify")
@project_option
@json_option
@click.option(
    "--require-key",
    is_flag=True,
    help="Refuse unkeyed records (use once THESEUS_AUDIT_KEY is in force).",
)
@click.pass_context
def verify(ctx: click.Context, project: str | None, as_json: bool, require_key: bool) -> None:
    """Check the whole chain; exit 1 naming the first bad record."""
    log = open_audit(project_root(project))
    result = log.verify(require_key=require_key)
    data = {"path": str(log.path), **result.as_dict()}

    def render() -> None:
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
        if result.ok:
            keyed = f", {result.keyed} keyed" if result.keyed else ""
            console.print(f"[green]audit chain intact:[/] {result.records} records{keyed}")
        else:
            console.print(f"[bold red]audit chain broken:[/] {result.reason}", highlight=False)

    emit(data, as_json, render)
    if not result.ok:
        ctx.exit(1)


def _summary(payload: Any) -> str:
    text = dumps(payload)
    return text if len(text) <= 120 else text[:117] + "..."


@audit.command("show")
@project_option
@json_option
@click.option("--kind", type=click.Choice(sorted(KINDS)), default=None, help="Only this kind.")
@click.option("--last", "last", type=click.IntRange(min=1), default=None, help="Only the last N.")
def show(project: str | None, as_json: bool, kind: str | None, last: int | None) -> None:
    """Show audit records, oldest first (use `audit verify` to trust them)."""
    records = open_audit(project_root(project)).records()
    if kind is not None:
        records = [r for r in records if r.get("kind") == kind]
    if last is not None:
        records = records[-last:]

    def render() -> None:
        rows = [
            (
                r.get("seq"),
                str(r.get("time", ""))[:19].replace("T", " "),
                r.get("actor"),
                r.get("kind"),
                _summary(r.get("payload")),
            )
            for r in records
        ]
        console.print(
            table(
                f"audit log ({len(rows)} records)",
                ["seq", "time", "actor", "kind", "payload"],
                rows,
            )
        )

    emit(records, as_json, render)
