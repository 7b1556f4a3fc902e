"""Entry point of the `theseus` command.

Subcommands live in their own modules and are imported only when used, so one area's
heavy imports (libcst, FastAPI, the LLM SDKs) never slow down another's.

Exit codes (documented in `theseus --help`):
  0 success; 1 the check ran and said no (e.g. audit chain broken, bug not fixed);
  2 bad input (config, arguments, evidence, patch); 3 internal error (a bug in Theseus);
  4 a named object was not found; 130 interrupted.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from theseus import __version__
from theseus.errors import TheseusError

# name -> "module:attribute" of a click.Command, in the order of the flow.
COMMANDS: dict[str, str] = {
    "init": "theseus.cli.init_cmd:init",
    "doctor": "theseus.cli.doctor_cmd:doctor",
    "evidence": "theseus.cli.evidence_cmd:evidence",
    "candidates": "theseus.cli.candidates_cmd:candidates",
    "verify": "theseus.cli.verify_cmd:verify",
    "sandbox": "theseus.cli.sandbox_cmd:sandbox",
    "repair": "theseus.cli.repair_cmd:repair",
    "evolve": "theseus.cli.evolve_cmd:evolve",
    "approve": "theseus.cli.gate_cmd:approve",
    "reject": "theseus.cli.gate_cmd:reject",
    "pause": "theseus.cli.gate_cmd:pause",
    "resume": "theseus.cli.gate_cmd:resume",
    "serve": "theseus.cli.runtime_cmd:serve",
    "deploy": "theseus.cli.runtime_cmd:deploy",
    "rollback": "theseus.cli.runtime_cmd:rollback",
    "bench": "theseus.cli.bench_cmd:bench",
    "versions": "theseus.cli.lineage_cmd:versions",
    "diff": "theseus.cli.lineage_cmd:diff",
    "audit": "theseus.cli.audit_cmd:audit",
    "demo": "theseus.cli.demo_cmd:demo",
}

EPILOG = """\b
Exit codes:
  0    success
  1    the check ran and the answer is no (bug not fixed, audit chain broken, ...)
  2    bad input: config, arguments, evidence or patch (one line says what and how to fix)
  3    internal error in Theseus (please report it with the command you ran)
  4    a named candidate, version or record does not exist
  130  interrupted
"""


def _available(name: str) -> bool:
    module = COMMANDS[name].partition(":")[0]
    return importlib.util.find_spec(module) is not None


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module_name, _, attr = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="theseus")
def cli() -> None:
    """Theseus: let a Python agent fix its own source code while it keeps serving, safely.

    Failures become evidence, evidence becomes candidate patches, candidates are proven in a
    sandbox, a gate decides, and the winner is hot-swapped into the live service, watched,
    and rolled back by itself if it is worse. Start with `theseus demo`.
    """


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; user errors become one line on stderr, never a traceback."""
    from theseus.cli.output import error_line

    try:
        return cli.main(args=argv, prog_name="theseus", standalone_mode=False)
    except TheseusError as exc:
        error_line(exc.line())
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        error_line("interrupted")
        sys.exit(130)
    except KeyboardInterrupt:
        error_line("interrupted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug in Theseus: say so plainly, keep details for the report
        error_line(
            f"internal error: {type(exc).__name__}: {exc} (set THESEUS_DEBUG=1 for the traceback)"
        )
        import os

        if os.environ.get("THESEUS_DEBUG"):
            raise
        sys.exit(3)


if __name__ == "__main__":
    main()
