"""`theseus bench swap`: hot swap under load versus a restart-based deploy, in one run."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from theseus.cli.output import console, emit, json_option, table


@click.group()
def bench() -> None:
    """Reproducible measurements of the live runtime."""


@bench.command()
@click.option(
    "--sessions",
    type=click.IntRange(1, 1000),
    default=32,
    show_default=True,
    help="Concurrent sessions sending messages during the run.",
)
@click.option(
    "--duration",
    type=click.FloatRange(6.0, 3600.0),
    default=45.0,
    show_default=True,
    help="Seconds of steady phases in all (the swaps and restarts add a little).",
)
@json_option
def swap(sessions: int, duration: float, as_json: bool) -> None:
    """Hot-swap the example agent under load, and restart-deploy it, side by side.

    Deploys three versions to a live `theseus serve` while SESSIONS talk to it over HTTP:
    one that migrates session state, one deliberately broken (it must be rolled back
    automatically) and one good. Then restarts a plain single-process server from v1 to
    v2 under the same load. Exits 1 if any request failed, any session was lost, no
    session was migrated, or the broken version was not rolled back.
    """
    from theseus.bench.swap import passed, run_bench

    result = asyncio.run(run_bench(sessions=sessions, duration=duration))
    emit(result, as_json, lambda: _render(result))
    if not passed(result):
        sys.exit(1)


def _render(result: dict[str, Any]) -> None:
    console.print(
        f"hot swap: {result['requests_sent']} requests, {result['failed_requests']} failed,"
        f" {result['sessions_lost']} sessions lost, {result['sessions_migrated']} migrated,"
        f" {result['rollbacks']} automatic rollbacks",
        highlight=False,
    )
    rows = []
    for s in result["swaps"]:
        lat = s["latency"]
        rows.append(
            (
                s["version"] + (" (broken)" if s["broken"] else ""),
                f"{lat['before']['p50_ms']} / {lat['before']['p99_ms']}",
                f"{lat['during']['p50_ms']} / {lat['during']['p99_ms']}",
                f"{lat['after']['p50_ms']} / {lat['after']['p99_ms']}",
                f"{s['deploy_to_cutover_ms']:.0f} ms",
                f"{s['cutover_after_warm_ms']:.3f} ms",
                f"{s['rollback_ms_from_detection']:.3f} ms" if s.get("rolled_back") else "-",
            )
        )
    console.print(
        table(
            "swaps (p50 / p99 ms)",
            [
                "swap",
                "before",
                "during",
                "after",
                "deploy->cut-over",
                "cut-over after warm",
                "rollback",
            ],
            rows,
        )
    )
    restart = result["restart_baseline"]
    console.print(
        table(
            "versus restart-based deploy",
            ["", "hot swap", "restart"],
            [
                ("failed requests", result["failed_requests"], restart["failed_requests"]),
                ("sessions lost", result["sessions_lost"], restart["sessions_lost"]),
                ("downtime", f"{result['downtime_s']} s", f"{restart['downtime_s']} s"),
            ],
        )
    )
    console.print(f"ratios (restart / hot): {result['ratios']}", highlight=False)
