"""`theseus audit verify|seal|show`: check and read the audit hash chain.

``verify`` checks the chain, its head file and, when the project is in a git repository,
the audit trailers of every promotion commit on the branch; what each check can and cannot
catch is in ``docs/AUDIT.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from theseus._jsonvalue import dumps
from theseus.cli.output import console, emit, json_option, project_option, table
from theseus.errors import GitError
from theseus.lineage.audit import KINDS, VerifyResult
from theseus.lineage.git import toplevel
from theseus.lineage.state import open_audit, project_root


@click.group()
def audit() -> None:
    """Check and read the audit log: an append-only hash chain of every proposal, policy
    decision, verification, gate decision, deploy, health verdict, rollback, pause and
    manual action. Set THESEUS_AUDIT_KEY to key it with HMAC-SHA256 (from its first record)."""


def _repository(root: Path) -> Path | None:
    """``root`` when it is inside a git repository (its promotion commits can be checked)."""
    try:
        toplevel(root)
    except GitError:
        return None
    return root


def _rows(result: VerifyResult, repo: Path | None) -> list[tuple[str, str]]:
    """The verdict of each check, for the table under the one-line verdict."""
    kind = f"{result.keyed} keyed" if result.keyed else "unkeyed"
    records = f"{result.records} sound ({kind})" if result.records else "0 sound"
    if result.bad_commit:
        commits = f"{result.bad_commit[:12]} contradicts the log"
    elif result.commits_checked is not None:
        commits = f"{result.commits_checked} with audit trailers, all match"
    elif repo is None:
        commits = "not checked (not a git repository)"
    else:
        commits = "not reached (an earlier check failed)"
    return [("records", records), ("head file", result.head), ("promotion commits", commits)]


@audit.command("verify")
@project_option
@json_option
@click.option(
    "--require-key",
    is_flag=True,
    help="Fail an unkeyed log too. A keyed log (or THESEUS_AUDIT_KEY set) always needs the "
    "key, its records all keyed and a keyed head file.",
)
@click.pass_context
def verify(ctx: click.Context, project: str | None, as_json: bool, require_key: bool) -> None:
    """Check the whole chain, its head file and the promotion commits' audit trailers;
    exit 1 naming the first bad record (and commit)."""
    root = project_root(project)
    log, repo = open_audit(root), _repository(root)
    result = log.verify(require_key=True if require_key else None, repo=repo)
    data = {"path": str(log.path), "repository": str(repo) if repo else None, **result.as_dict()}

    def render() -> None:
        if result.ok:
            keyed = f", {result.keyed} keyed" if result.keyed else ""
            console.print(f"[green]audit chain intact:[/] {result.records} records{keyed}")
        else:
            console.print(f"[bold red]audit chain broken:[/] {result.reason}", highlight=False)
        console.print(table(None, ["check", "result"], _rows(result, repo)))
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)

    emit(data, as_json, render)
    if not result.ok:
        ctx.exit(1)


@audit.command("seal")
@project_option
@json_option
def seal(project: str | None, as_json: bool) -> None:
    """Write a keyed head file for the log as it stands (needs THESEUS_AUDIT_KEY), after
    checking the chain and the promotion commits: for a keyed log whose head file was
    written before head files were keyed. Whoever seals vouches the log was not cut short."""
    root = project_root(project)
    log = open_audit(root)
    seq, digest = log.seal(repo=_repository(root))
    data = {"path": str(log.head_path), "seq": seq, "hash": digest}
    emit(data, as_json, lambda: console.print(f"[green]sealed:[/] record {seq} ({digest[:12]})"))


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
