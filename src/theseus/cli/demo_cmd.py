"""`theseus demo`: run what exists of the evolution cycle on the bundled example agent."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from theseus.cli.output import console, emit, err_console, json_option, table
from theseus.demo import DemoResult, run_demo


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="New or empty folder for the agent's copy (default: a new temporary folder, printed).",
)
@click.option(
    "--sessions",
    type=click.IntRange(1, 100_000),
    default=200,
    show_default=True,
    help="Customer conversations to play against the agent.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the conversations.")
@json_option
def demo(workdir: Path | None, sessions: int, seed: int, as_json: bool) -> None:
    """Record and curate the example support agent's failures, offline.

    Copies the bundled example agent (a customer-support bot with real seeded bugs) into
    WORKDIR as a git repository with one commit, plays realistic customer conversations
    against it in a subprocess (its failures and wrong answers go to
    WORKDIR/.theseus/evidence.db), then groups the failures by signature and prints them.
    Inspect the result afterwards with `theseus evidence list` inside WORKDIR.

    The evolution cycle (repair, verification, gate, hot swap) joins in a later stage.
    """
    out = err_console if as_json else console
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=as_json,
    ) as progress:
        task = progress.add_task("copying the example agent", total=sessions)

        def ready(folder: Path) -> None:
            progress.console.print(f"agent copied to [bold]{escape(str(folder))}[/] (git repo)")
            progress.update(task, description="playing customer sessions")

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = run_demo(workdir, sessions, seed, on_progress=advance, on_ready=ready)
        progress.update(task, description="customer sessions played")
    emit(result.as_json(), as_json, lambda: _render(result))


def _render(result: DemoResult) -> None:
    rows = [
        (
            index,
            batch.signature,
            batch.kind,
            batch.count,
            batch.severity,
            f"{batch.score:g}",
            escape(batch.title),
        )
        for index, batch in enumerate(result.batches, start=1)
    ]
    console.print(
        table(
            "Failures by signature (highest score first)",
            ["#", "signature", "kind", "count", "severity", "score", "what"],
            rows,
        )
    )
    folder = escape(str(result.workdir))
    console.print(
        f"What happened: copied the example support agent to {folder} and committed it "
        f"({result.commit[:12]}); played {result.sessions} customer sessions "
        f"({result.requests} messages) against it in a subprocess; the agent raised "
        f"{result.exceptions} exceptions and gave {result.wrong_answers} wrong answers, all "
        f"recorded in {folder}/.theseus/evidence.db; the curator grouped them into "
        f"{len(result.batches)} failure signatures (above).",
        highlight=False,
    )
    console.print(
        "Not yet: proposing fixes, verifying them in a sandbox and hot-swapping them in (the "
        f"evolution cycle) come in a later stage. Look around: cd {folder} && theseus evidence list",
        highlight=False,
    )
