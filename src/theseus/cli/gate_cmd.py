"""`theseus approve|reject|pause|resume`: a person's hand on the gate and the loop.

Each action is recorded in the audit log with the person's name ($USER) as the actor.
"""

from __future__ import annotations

import click

from theseus.cli.output import console, emit, json_option, project_option
from theseus.gate.breaker import CircuitBreaker
from theseus.gate.switch import KillSwitch
from theseus.lineage.state import (
    current_actor,
    open_archive,
    open_audit,
    project_root,
    state_dir,
)


def _decide(project: str | None, candidate: str, status: str, why: str, as_json: bool) -> None:
    root, actor = project_root(project), current_actor()
    archive = open_archive(root)
    try:
        updated = archive.set_status(candidate, status, why, actor=actor)
    finally:
        archive.close()
    action = "approve" if status == "approved" else "reject"
    open_audit(root).append(
        "manual",
        {
            "action": action,
            "candidate_id": updated.id,
            "signature": updated.signature,
            "reason": why,
        },
        actor=actor,
    )
    data = {"candidate_id": updated.id, "status": updated.status, "actor": actor, "reason": why}
    emit(
        data,
        as_json,
        lambda: console.print(f"candidate {updated.id} [bold]{updated.status}[/] by {actor}"),
    )


@click.command()
@click.argument("candidate")
@click.option("--why", default="approved by a person", help="Why (kept in the audit log).")
@project_option
@json_option
def approve(candidate: str, why: str, project: str | None, as_json: bool) -> None:
    """Approve a verified CANDIDATE (id or unique prefix) waiting at a manual gate."""
    _decide(project, candidate, "approved", why, as_json)


@click.command()
@click.argument("candidate")
@click.option("--why", required=True, help="Why it is rejected (kept in the audit log).")
@project_option
@json_option
def reject(candidate: str, why: str, project: str | None, as_json: bool) -> None:
    """Reject a pending CANDIDATE (proposed, verified or approved-but-not-deployed)."""
    _decide(project, candidate, "rejected", why, as_json)


@click.command()
@click.option("--why", default="", help="Why evolution is paused (kept in the audit log).")
@project_option
@json_option
def pause(why: str, project: str | None, as_json: bool) -> None:
    """Pause evolution: a running loop stops at its next step (writes .theseus/PAUSED)."""
    root, actor = project_root(project), current_actor()
    switch = KillSwitch(state_dir(root), open_audit(root))
    changed = switch.pause(actor, why)
    data = {"paused": True, "changed": changed, **(switch.info() or {})}
    note = "evolution paused" if changed else "evolution was already paused"
    emit(data, as_json, lambda: console.print(f"[yellow]{note}[/] ({switch.path})"))


@click.command()
@click.option("--why", default="", help="Why evolution may go on (kept in the audit log).")
@project_option
@json_option
def resume(why: str, project: str | None, as_json: bool) -> None:
    """Resume evolution (also resets the rollback circuit breaker)."""
    root, actor = project_root(project), current_actor()
    switch = KillSwitch(state_dir(root), open_audit(root))
    changed = switch.resume(actor, why)
    if changed:
        archive = open_archive(root)
        try:
            CircuitBreaker(archive.db, limit=1).reset(f"resumed by {actor}")
        finally:
            archive.close()
    note = "evolution resumed" if changed else "evolution was not paused"
    emit({"paused": False, "changed": changed}, as_json, lambda: console.print(f"[green]{note}[/]"))
