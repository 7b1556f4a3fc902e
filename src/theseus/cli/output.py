"""How results reach people and scripts: rich tables for the former, ``--json`` for the latter.

Every listing command takes ``--json``; one helper keeps the two paths identical in content.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
project_option = click.option(
    "--project",
    "-p",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="The agent project (folder with theseus.toml); default: nearest above the current folder.",
)


def error_line(message: str) -> None:
    """One red line on stderr: the whole error a user sees (its text never read as markup:
    an error quoting ``pip install "x[serve]"`` or a user's input must print as it is)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """JSON on stdout with no rich markup, so scripts can parse it."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A plain rich table; callers print it with ``console.print``."""
    result = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*(str(cell) for cell in row))
    return result


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``render`` to show it to a person."""
    if as_json:
        print_json(data)
    else:
        render()
