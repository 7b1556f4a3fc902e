"""`theseus sandbox run`: the verification sandbox as a command, for people and scripts."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from theseus.cli.output import err_console, json_option, print_json
from theseus.errors import SandboxError


class _OneLineCommand(click.Command):
    """Usage errors as one line (what is wrong, where to look), like every other bad input."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise SandboxError(
                exc.format_message(), hint="see `theseus sandbox run --help`"
            ) from None


@click.group()
def sandbox() -> None:
    """Run commands in the sandbox candidates are verified in."""


@sandbox.command(
    "run",
    cls=_OneLineCommand,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False),
    required=True,
    help="The only folder the command may write to (also its HOME and default cwd).",
)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Wall-clock seconds.")
@click.option("--memory", type=int, default=2048, show_default=True, help="Address space, MB.")
@click.option("--cpu", type=int, default=None, help="CPU seconds per process (default: none).")
@click.option(
    "--processes", type=int, default=256, show_default=True, help="Processes alive at once."
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "bwrap", "netns", "rlimits"]),
    default="auto",
    show_default=True,
    help="Isolation backend; auto takes the best that works here (see `theseus doctor`).",
)
@click.option(
    "--allow-weak",
    is_flag=True,
    help="Run even on the rlimits backend, which isolates nothing (refused otherwise).",
)
@json_option
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run(
    workspace: str,
    timeout: float,
    memory: int,
    cpu: int | None,
    processes: int,
    backend: str,
    allow_weak: bool,
    as_json: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND in the sandbox: no network, read-only system, only WORKSPACE writable.

    \b
    Prints the command's output, then one verdict line on stderr: backend, exit status,
    reason and duration. The exit code is the command's, 124 for a timeout, 128+N for signal N.
    Example:  theseus sandbox run --workspace ./ws --timeout 10 -- python -m pytest -q
    """
    from theseus.verify.sandbox import Limits, detect_backend, run_sandboxed

    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise SandboxError("no command given", hint="put the command after --")
    limits = Limits(timeout=timeout, memory_mb=memory, cpu_seconds=cpu, max_processes=processes)
    info = detect_backend(backend)
    if not as_json:
        for warning in info.warnings:
            err_console.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    result = run_sandboxed(argv, Path(workspace), limits, backend=backend, allow_weak=allow_weak)
    if as_json:
        print_json({**asdict(result), "ok": result.ok, "exit_code": result.exit_code})
    else:
        sys.stdout.write(result.stdout)
        sys.stdout.flush()
        sys.stderr.write(result.stderr)
        sys.stderr.flush()
        verdict = "[green]ok[/]" if result.ok else f"[red]{result.reason}[/]"
        cut = " (output truncated)" if result.truncated else ""
        status = "none" if result.returncode is None else str(result.returncode)
        err_console.print(
            f"[bold]sandbox[/] {result.backend}: exit {status}, {verdict}, "
            f"{result.duration:.2f}s{cut}",
            highlight=False,
            soft_wrap=True,
        )
    sys.exit(result.exit_code)
