"""The loop: cycles until the count is reached, nothing is left to fix, or a pause."""

from __future__ import annotations

from collections.abc import Collection

from theseus.config import Settings
from theseus.evolve.cycle import CycleProgress, quiet, run_cycle
from theseus.evolve.report import CycleReport


def evolve(
    settings: Settings,
    *,
    cycles: int = 1,
    until_clean: bool = False,
    progress: CycleProgress = quiet,
    signatures: int | None = None,
    service: str | None = None,
    only: Collection[str] | None = None,
    since: float | None = None,
) -> list[CycleReport]:
    """Run up to ``cycles`` cycles; with ``until_clean`` stop early once a cycle leaves no
    open signature (everything fixed, parked or flagged) or promotes nothing new.
    ``service`` is the live service's URL (default: ``[runtime]`` host and port when a
    service answers there, else promotion is commit-only). ``only`` / ``since`` restrict
    every cycle to those signatures / to evidence from then on."""
    reports: list[CycleReport] = []
    for number in range(1, cycles + 1):
        report = run_cycle(
            settings,
            cycle=number,
            progress=progress,
            signatures=signatures,
            service=service,
            only=only,
            since=since,
        )
        reports.append(report)
        if report.stopped == "paused":
            break
        if until_clean and (not report.open_signatures or not report.promoted):
            break
    return reports
