"""`theseus demo`: run what exists of the evolution cycle on the bundled example agent."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from theseus.cli.output import console, emit, err_console, json_option, table
from theseus.demo import EXAMPLE, DemoResult, run_demo


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
@click.option(
    "--evolve/--no-evolve",
    "do_evolve",
    default=True,
    show_default=True,
    help="After recording, run evolution cycles and compare failures before and after.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(10, 3600),
    default=135.0,
    show_default=True,
    help="Time budget of the evolution cycles.",
)
@click.option(
    "--example",
    default=EXAMPLE,
    show_default=True,
    help="Which bundled example agent: support_agent (a rule-based support bot) or"
    " travel_agent (an assistant that calls a model: a stand-in model server runs beside it,"
    " and every fix is verified by replaying the recorded model calls).",
)
@json_option
def demo(
    workdir: Path | None,
    sessions: int,
    seed: int,
    do_evolve: bool,
    seconds: float,
    example: str,
    as_json: bool,
) -> None:
    """Serve an example agent, record its failures, then evolve them away live.

    Copies the bundled example agent (by default a customer-support bot with seven real
    seeded bugs) into WORKDIR as a git repository with one commit, serves it with `theseus serve` on a
    free local port, and plays realistic customer conversations against it over HTTP: the
    workers record the agent's exceptions and the traffic's oracle reports wrong answers
    (all in WORKDIR/.theseus/evidence.db). The failures are grouped by signature and printed.

    With --evolve (the default) it then shows the example's deliberately bad candidates
    caught (by policy, or by sandboxed verification), runs evolution cycles for --seconds while lighter
    traffic keeps flowing (repair engine, verification, gate, one git commit per fix with
    its regression test, each hot-swapped into the running service and health-watched),
    plays the first traffic again, and prints failures by signature before and after, the
    fixes with their diffs, the versions, requests served and dropped during the swaps, and
    whether the audit chain verifies. Everything runs offline. Afterwards, inside WORKDIR:
    `theseus versions`, `theseus audit verify`, `theseus evidence list`.
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

        def step(message: str) -> None:
            progress.update(task, description=escape(message[:70]))

        result = run_demo(
            workdir, sessions, seed, on_progress=advance, on_ready=ready,
            evolve=do_evolve, evolve_seconds=seconds, on_step=step, example=example,
        )  # fmt: skip
        progress.update(task, description="done")
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
        f"({result.commit[:12]}); served it at {result.service} and played "
        f"{result.sessions} customer sessions ({result.requests} messages) against it over "
        f"HTTP; the agent raised {result.exceptions} exceptions and gave "
        f"{result.wrong_answers} wrong answers, all recorded in {folder}/.theseus/evidence.db; "
        f"the curator grouped them into {len(result.batches)} failure signatures (above).",
        highlight=False,
    )
    if result.evolution is not None:
        _render_evolution(result)
        return
    console.print(
        f"Evolution skipped (--no-evolve). Look around: cd {folder} && theseus evidence list",
        highlight=False,
    )


def _render_evolution(result: DemoResult) -> None:
    evo = result.evolution
    assert evo is not None
    for bad in evo.bad_candidates:
        reasons = "; ".join(bad["violations"]) or str(bad.get("reason") or "")
        console.print(
            f"A deliberately bad candidate ({str(bad['candidate'])[:12]}: {escape(bad['why'])}):"
            f" [bold]{bad['status']}[/] - {escape(reasons[:160])}",
            highlight=False,
        )
    for fix in evo.fixes:
        console.print(
            f"[bold]fixed {fix.signature}[/] {escape(fix.title[:60])} -> commit "
            f"{(fix.commit or '')[:12]}",
            highlight=False,
        )
        console.print(escape(fix.diff.rstrip()), highlight=False)
    titles = {b.signature: b.title for b in result.batches}
    rows = [
        (sig, escape(titles.get(sig, "")[:50]), count, evo.after.get(sig, 0))
        for sig, count in evo.before.items()
    ]
    rows += [(s, "(new)", 0, n) for s, n in evo.after.items() if s not in evo.before]
    console.print(
        table(
            "Failures by signature, before and after",
            ["signature", "what", "before", "after"],
            rows,
        )
    )
    console.print(
        table(
            "Versions (git log of the agent)",
            ["commit", "message"],
            [
                (str(v.get("commit", ""))[:12], escape(str(v.get("subject", v))[:70]))
                for v in evo.versions
            ],
        )
    )
    live = evo.live
    console.print(
        f"{len(evo.fixes)} fixes promoted and hot-swapped into {live.get('service')} "
        f"({live.get('swaps', 0)} swaps, {live.get('rollbacks', 0)} rollbacks) while "
        f"{live.get('requests_while_evolving', 0)} requests were served; dropped requests: "
        f"{result.dropped + evo.dropped}. Audit chain "
        f"{'verified' if evo.audit_verified else 'BROKEN'} ({evo.audit_records} records).",
        highlight=False,
    )
