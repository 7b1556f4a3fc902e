"""`theseus repair`: fix a bug in any Python project from its failing tests, offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from theseus.cli.output import console, emit, err_console, json_option

if TYPE_CHECKING:
    from theseus.propose.repair.engine import RepairOptions, RepairResult


@click.command("repair")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--test", "test_command", required=True, metavar="CMD",
              help='Test command that fails on the bug, run with /bin/sh in DIR, e.g. "python -m pytest -q".')  # fmt: skip
@click.option("--mutable", "mutable", multiple=True, required=True, metavar="GLOB",
              help="Files the repair may change, relative to DIR (repeatable), e.g. 'src/**/*.py'.")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=1), default=120.0, show_default=True,
              help="Hard budget for the whole search, in seconds.")  # fmt: skip
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Candidates validated in parallel (one workspace copy each).")  # fmt: skip
@click.option("--alternatives", type=click.IntRange(min=1), default=1, show_default=True,
              help="Keep searching until this many fixes pass, then keep the smallest.")  # fmt: skip
@click.option("--cold", is_flag=True,
              help="Start a fresh sandboxed process per trial instead of forking a warm one.")  # fmt: skip
@click.option("--apply", "apply_fix", is_flag=True, help="Write the fix into DIR (atomically).")
@json_option
def repair(
    directory: Path,
    test_command: str,
    mutable: tuple[str, ...],
    timeout: float,
    workers: int,
    alternatives: int,
    cold: bool,
    apply_fix: bool,
    as_json: bool,
) -> None:
    """Search for a small source edit that makes a failing test command pass.

    Runs CMD in DIR (it must fail), localises the bug from the tracebacks and from per-test
    coverage (failing vs passing tests), tries mutation operators at the most suspicious
    lines, failing tests first, and reports the smallest edit that makes CMD pass. No
    network, no LLM, no theseus.toml needed. Exit 0 when fixed, 1 when not.

    \b
    Example:
      theseus repair ./myproj --test "python -m pytest -q tests" --mutable "myproj/**/*.py"
    """
    from theseus.change.apply import write_texts
    from theseus.propose.repair.engine import RepairOptions
    from theseus.propose.repair.engine import repair as run_repair

    options = RepairOptions(
        test_command=test_command, mutable=list(mutable), timeout=timeout,
        workers=workers, alternatives=alternatives, forked=not cold,
    )  # fmt: skip
    result = run_repair(directory, options) if as_json else _with_progress(directory, options)
    applied = False
    if apply_fix and result.fix is not None:
        write_texts(directory.resolve(), dict(result.fix.texts))
        applied = True
    data = {**result.to_json(), "applied": applied}

    def render() -> None:
        for note in result.notes:
            console.print(f"[yellow]note[/]: {note}; trials ran cold", highlight=False)
        if result.status == "fixed":
            console.print(f"[bold green]fixed[/] {result.description} "
                          f"({result.candidates_tried} candidates, {result.seconds:.1f}s)")  # fmt: skip
            console.print(result.diff, highlight=False, markup=False)
            if applied:
                console.print(f"applied to {directory}")
        else:
            why = "time budget spent" if result.timed_out else "search space exhausted"
            console.print(f"[bold red]not fixed[/] ({why}; {result.candidates_tried} candidates, "
                          f"{result.seconds:.1f}s)")  # fmt: skip

    emit(data, as_json, render)
    raise click.exceptions.Exit(0 if result.status == "fixed" else 1)


def _with_progress(directory: Path, options: RepairOptions) -> RepairResult:
    """Run the repair under a rich progress bar on stderr (people only; --json has none)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from theseus.propose.repair.engine import repair as run_repair

    with Progress(
        TextColumn("[bold]repair[/]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("fixes: {task.fields[fixes]}"), TimeElapsedColumn(),
        console=err_console, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("search", total=None, fixes=0)

        def progress(tried: int, total: int, fixes: int) -> None:
            bar.update(task, completed=tried, total=total, fixes=fixes)

        return run_repair(directory, options, progress=progress)
