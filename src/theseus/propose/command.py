"""The ``command`` proposer: any external coding-agent CLI, run in a throwaway copy.

Tools like ``claude -p``, ``aider --message`` or ``codex exec`` already know how to fix
code; this proposer gives one of them the task brief and a copy of the project, and takes
the copy's diff as the candidate. ``[propose.command] argv`` is the command line:
``{prompt}`` in an argument becomes the prompt, ``{prompt_file}`` the path of a file holding
it (outside the copy); with neither, the prompt goes to the command's stdin.

The command is NOT sandboxed: external agents call their own hosted models, so they need the
network and the user's environment (their API keys). It runs with the copy as its working
folder, in its own process group, which is killed whole at ``[propose.command] timeout``.
What it produces is untrusted all the same: changes outside the mutable files are undone,
and the candidate still goes through policy and sandboxed verification like any other.

A missing program or an empty ``argv`` is a :class:`TheseusError` when the proposer is made,
so the cycle skips it with one line; a run that fails, times out or changes nothing is a
note plus ``ctx.on_rejected``, and no candidate.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from theseus.change import Workspace
from theseus.change.candidate import Candidate
from theseus.change.workspace import WORKING_TREE
from theseus.config import Settings
from theseus.errors import TheseusError
from theseus.paths import PathRules
from theseus.propose.agent.workspace import clip, restore_outside_mutable
from theseus.propose.base import ProposalContext, Proposer, Rejected
from theseus.propose.llm.prompt import task_brief
from theseus.propose.llm.redact import Redactor
from theseus.propose.registry import SharedResources, register_proposer
from theseus.propose.repair.proposer import diff_key

INSTRUCTION = (
    "# What to do\n\nEdit the files in this folder in place to fix the root cause. Change "
    "only the files the rules above allow; do not touch the tests, do not commit, and do "
    "not create other files. When you are done, just exit."
)
OUTPUT_TAIL_CHARS = 2_000
MAX_OUTPUT_BYTES = 200_000
_PLACEHOLDER = re.compile(r"\{(prompt|prompt_file)\}")
_KILL_GRACE = 5.0


class CommandProposer:
    """Candidates from an external CLI (``[propose.command] argv``); ``name`` is ``"command"``."""

    name = "command"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        argv = list(settings.propose.command.argv)
        if not argv or not argv[0].strip():
            raise TheseusError(
                "[propose.command] argv is empty",
                hint='set the CLI to run, e.g. argv = ["claude", "-p", "{prompt}"]',
            )
        self.executable = find_executable(argv[0], settings.root)
        self.argv = [self.executable, *argv[1:]]
        Redactor(settings.propose.llm.redact)  # a bad pattern fails here, before any batch

    def propose(self, ctx: ProposalContext) -> Iterator[Candidate]:
        if ctx.budget.max_candidates < 1 or ctx.budget.expired():
            return
        prompt = self.prompt(ctx)
        timeout = min(self.settings.propose.command.timeout, max(ctx.budget.seconds_left(), 1.0))
        with Workspace.create(ctx.root, WORKING_TREE) as ws:
            prompt_file = ws.tmpdir / "prompt.md"
            prompt_file.write_text(prompt, encoding="utf-8")
            argv, use_stdin = substitute(self.argv, prompt, str(prompt_file))
            code, output, timed_out = run_group(
                argv, ws.path, prompt_file if use_stdin else None, timeout
            )
            rules = PathRules(ws.path, ctx.rules.mutable, ctx.rules.protected)
            undone = restore_outside_mutable(ws.path, ctx.root, rules)
            try:
                diff = ws.diff()
            except TheseusError as exc:
                self._reject(ctx, f"its change cannot be read: {exc.line()}", output)
                return
        program = Path(self.executable).name
        if timed_out:
            self._reject(ctx, f"`{program}` timed out after {timeout:g}s", output)
            return
        if code != 0:
            self._reject(ctx, f"`{program}` exited with status {code}", output)
            return
        if undone:
            self._note(ctx, f"command: undid changes to non-editable {', '.join(undone)}")
        if not diff.strip():
            self._reject(ctx, f"`{program}` changed no editable file", output)
            return
        key = diff_key(diff)
        if ctx.already_tried(key):
            self._reject(ctx, f"`{program}` repeated an earlier attempt", output)
            return
        batch = ctx.batch
        yield Candidate.create(
            base_commit=ctx.base_commit,
            diff=diff,
            proposer=self.name,
            signature=None if batch is None else batch.signature,
            rationale=clip(_last_lines(output, 5), 1_000),
            meta={"command": program, "attempt_key": key},
        )

    def prompt(self, ctx: ProposalContext) -> str:
        """The task brief plus what the CLI is to do (edit in place, leave tests alone)."""
        if ctx.batch is not None:
            brief = task_brief(ctx, self.settings, Redactor(self.settings.propose.llm.redact))
        else:
            brief = (
                "# Task\n\nThe project's tests fail"
                + (f" (`{ctx.test_command}`)" if ctx.test_command else "")
                + f". Fix the code in {', '.join(ctx.rules.mutable)}.\n"
            )
        return f"{brief}\n{INSTRUCTION}\n"

    def _reject(self, ctx: ProposalContext, reason: str, output: str) -> None:
        last = _last_lines(output, 1)
        self._note(ctx, f"command: {reason}" + (f": {clip(last, 200)}" if last else ""))
        if ctx.on_rejected is not None:
            ctx.on_rejected(
                Rejected(proposer=self.name, reason=reason, excerpt=output[-OUTPUT_TAIL_CHARS:])
            )

    @staticmethod
    def _note(ctx: ProposalContext, line: str) -> None:
        if ctx.notes is not None:
            ctx.notes(line)


def find_executable(name: str, root: Path) -> str:
    """The full path of the program ``name`` (on PATH, or a path relative to ``root``)."""
    if os.sep in name:
        path = Path(name).expanduser()
        path = path if path.is_absolute() else root / path
        if path.is_file() and os.access(path, os.X_OK):
            return str(path.absolute())  # not resolved: a venv's python is a symlink
        found = None
    else:
        found = shutil.which(name)
    if found is None:
        raise TheseusError(
            f"[propose.command] program {name!r} is not installed or not executable",
            hint="install it, put it on PATH, or fix [propose.command] argv",
        )
    return found


def substitute(argv: list[str], prompt: str, prompt_file: str) -> tuple[list[str], bool]:
    """``argv`` with ``{prompt}`` / ``{prompt_file}`` filled in (one pass, so braces in the
    prompt stay as they are), and whether the prompt must go to stdin (neither was used)."""
    values = {"prompt": prompt, "prompt_file": prompt_file}
    used = any(_PLACEHOLDER.search(arg) for arg in argv)
    return [_PLACEHOLDER.sub(lambda m: values[m.group(1)], arg) for arg in argv], not used


def run_group(
    argv: list[str], cwd: Path, stdin: Path | None, timeout: float
) -> tuple[int, str, bool]:
    """``(exit status, stdout + stderr, timed out)`` of ``argv`` run in ``cwd`` in a process
    group of its own; on timeout the whole group is killed. Output goes through a file, not a
    pipe, so a grandchild that keeps the pipe open cannot make the wait hang."""
    env = {**os.environ, "THESEUS_RECORD": "0"}
    with tempfile.TemporaryFile() as out, open(stdin or os.devnull, "rb") as feed:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=feed,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return 127, f"cannot start {argv[0]}: {exc.strerror or exc}", False
        timed_out = False
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            code = proc.wait(timeout=_KILL_GRACE)
        else:
            _kill_group(proc.pid)  # stragglers it left running in the background
        size = out.seek(0, os.SEEK_END)
        out.seek(max(0, size - MAX_OUTPUT_BYTES))
        return code, out.read().decode("utf-8", errors="replace"), timed_out


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _last_lines(text: str, count: int) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:])


@register_proposer("command", seconds=lambda settings: settings.propose.command.timeout + 30.0)
def _command(settings: Settings, shared: SharedResources) -> Proposer:
    return CommandProposer(settings)
