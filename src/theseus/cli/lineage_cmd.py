"""`theseus versions` and `theseus diff A B`: the promoted versions as git has them."""

from __future__ import annotations

import datetime as _dt

import click
from rich.syntax import Syntax

from theseus.cli.output import console, emit, json_option, project_option, table
from theseus.config import load_settings
from theseus.errors import ConfigError
from theseus.lineage import git
from theseus.lineage.state import project_root


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the newest N.")
@project_option
@json_option
def versions(limit: int | None, project: str | None, as_json: bool) -> None:
    """List promoted versions (commits carrying a Theseus-Candidate trailer), newest first."""
    root = project_root(project)
    try:
        branch = load_settings(root).lineage.branch
    except ConfigError:  # a folder with only .theseus/: the checked-out branch
        branch = None
    found = git.versions(root, limit, branch=branch)
    current = git.line_head(root, branch)

    def render() -> None:
        rows = [
            (
                ("* " if v.commit == current else "  ") + v.commit[:12],
                v.candidate_id,
                v.signature or "",
                _dt.datetime.fromtimestamp(v.time).strftime("%Y-%m-%d %H:%M:%S"),
                v.subject,
            )
            for v in found
        ]
        console.print(
            table(
                f"promoted versions ({len(rows)})",
                ["commit", "candidate", "signature", "time", "subject"],
                rows,
            )
        )

    emit({"head": current, "versions": [v.as_dict() for v in found]}, as_json, render)


@click.command()
@click.argument("a")
@click.argument("b")
@project_option
@json_option
def diff(a: str, b: str, project: str | None, as_json: bool) -> None:
    """Show the diff between versions A and B: candidate ids (or prefixes), commits, HEAD~1..."""
    root = project_root(project)
    commit_a, commit_b = git.resolve(root, a), git.resolve(root, b)
    text = git.diff(root, a, b)
    data = {"a": commit_a, "b": commit_b, "diff": text}

    def render() -> None:
        if text:
            console.print(Syntax(text, "diff", theme="ansi_dark", word_wrap=True))
        else:
            console.print(f"no differences between {a} and {b}")

    emit(data, as_json, render)
