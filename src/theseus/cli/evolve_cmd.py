"""`theseus evolve`: run evolution cycles on the project's recorded failures."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click
from rich.markup import escape

from theseus.cli.output import console, emit, err_console, json_option, project_option, table
from theseus.config import load_settings
from theseus.evolve import CycleReport
from theseus.evolve import evolve as run_evolution
from theseus.lineage.state import project_root

_SIGNATURE = re.compile(r"[0-9a-fA-F]{4,12}")


@click.command()
@click.option(
    "--cycles",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="How many cycles to run at most.",
)
@click.option(
    "--until-clean",
    is_flag=True,
    help="Stop early once a cycle leaves no open failure signature or promotes nothing.",
)
@click.option(
    "--url",
    default=None,
    help="The live service to hot-swap fixes into (default: where `theseus serve` recorded"
    " it listens, else [runtime] host and port; with none, fixes are committed only).",
)
@click.option(
    "--signature",
    "signatures",
    multiple=True,
    metavar="SIG",
    help="Work only on this failure signature (or the start of one; repeatable), as"
    " `theseus evidence list` shows them.",
)
@click.option(
    "--since",
    type=float,
    default=None,
    metavar="HOURS",
    help="Count only evidence recorded in the last HOURS hours.",
)
@project_option
@json_option
def evolve(
    cycles: int,
    until_clean: bool,
    url: str | None,
    signatures: tuple[str, ...],
    since: float | None,
    project: Path | None,
    as_json: bool,
) -> None:
    """Curate failures, propose fixes, verify, gate and promote them.

    Each cycle takes the failure batches from the evidence store (highest score first),
    skips signatures that are parked, already fixed or paused, asks the configured
    proposers for candidates, verifies each in the sandbox, passes it through the gate and
    promotes an approved one as a git commit together with a regression test built from its
    evidence. When `theseus serve` is running for the project, the commit is hot-swapped in
    and its health watched (a rollback is recorded). Everything is written to the audit log.
    """
    for signature in signatures:
        if not _SIGNATURE.fullmatch(signature):
            raise click.BadParameter(
                f"{signature!r} is not a failure signature (4 to 12 hex digits)",
                param_hint="--signature",
            )
    if since is not None and since <= 0:
        raise click.BadParameter(
            f"{since}: must be a positive number of hours", param_hint="--since"
        )
    root = project_root(project)
    settings = load_settings(root / "theseus.toml")
    out = err_console if as_json else console
    with out.status("evolving", spinner="dots") as status:

        def progress(message: str) -> None:
            status.update(escape(message))
            out.print(f"[dim]{escape(message)}[/]", highlight=False)

        reports = run_evolution(
            settings,
            cycles=cycles,
            until_clean=until_clean,
            progress=progress,
            service=url,
            only=[s.lower() for s in signatures] or None,
            since=time.time() - since * 3600 if since is not None else None,
        )
    data = {
        "cycles": [r.as_json() for r in reports],
        "promoted": sum(len(r.promoted) for r in reports),
    }
    emit(data, as_json, lambda: _render(reports))


def _render(reports: list[CycleReport]) -> None:
    rows = [
        (
            r.cycle,
            o.signature,
            escape(o.title[:50]),
            o.outcome,
            o.proposer or "-",
            (o.commit or o.candidate_id or "")[:12],
            f"{o.seconds:.1f}s",
            f"{o.tokens} / ${o.cost_usd:.4f}" if o.tokens else "-",
            escape(o.reason[:60]),
        )
        for r in reports
        for o in r.outcomes
    ]
    columns = ["cycle", "signature", "failure", "outcome", "by", "commit / candidate", "time"]
    console.print(table("Evolution summary", [*columns, "tokens / cost", "why"], rows))
    for outcome in (o for r in reports for o in r.outcomes if o.live):
        console.print(f"{escape(outcome.signature)}: {escape(outcome.live)}", highlight=False)
    for note in dict.fromkeys(n for r in reports for n in r.notes):
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    promoted = sum(len(r.promoted) for r in reports)
    stopped = next((r.stopped for r in reports if r.stopped), None)
    tokens = sum(r.tokens for r in reports)
    cost = sum(r.cost_usd for r in reports)
    line = f"{promoted} fix(es) promoted in {len(reports)} cycle(s)"
    if tokens:
        line += f"; model use: {tokens} tokens, ${cost:.4f}"
    console.print(line + (f"; stopped: {escape(stopped)}" if stopped else ""), highlight=False)
