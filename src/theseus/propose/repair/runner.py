"""Running the project's test command in a workspace, with the repair plugin loaded.

Every test run of the engine goes through :func:`run_shell`, the single place that decides
how a command is executed (in the sandbox of :mod:`theseus.verify.sandbox`), so the
sandboxing policy lives in one line, not in every caller. The report plugin is the one
verification uses (:mod:`theseus.verify.pytest_plugin`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from theseus.verify.sandbox import Limits, run_sandboxed
from theseus.verify.testrun import install_plugin
from theseus.verify.trials import ForkedTrials

PLUGIN_DIR = ".theseus-repair"
PLAIN_ASSERTS = "--assert=plain"
"""The engine needs each test's outcome, never pytest's rich assertion messages, and
rewriting costs more than the tests: pytest rewrites every module of each plugin package
(hypothesis alone is over a hundred), and with no bytecode cache (read-only site-packages in
the sandbox, ``PYTHONDONTWRITEBYTECODE`` here) it does so on every run. Plain asserts pass and
fail exactly as rewritten ones do; one mutant's run of the example agent's replayed evidence
drops from about 1.4 s to 0.55 s. Verification still runs the test command as configured."""


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    output: str
    duration: float
    timed_out: bool


def run_shell(command: str, cwd: Path, *, timeout: float, extra: dict[str, str]) -> ProcessResult:
    """Run a shell command in ``cwd`` in the sandbox, which starts from a minimal
    environment plus ``extra``."""
    argv = ["/bin/sh", "-c", command]
    res = run_sandboxed(argv, cwd, Limits(timeout=timeout, memory_mb=2048), env=extra)
    return ProcessResult(res.exit_code, res.stdout + res.stderr, res.duration, res.timed_out)


@dataclass
class TrialRun:
    """One run of the test command; ``report`` is None when pytest (or the plugin) did not run."""

    returncode: int
    output: str
    duration: float
    timed_out: bool
    report: dict[str, Any] | None = None
    outcomes: dict[str, str] = field(default_factory=dict)
    forked: bool = False  # run in a fork of the warm trial server, not a cold process
    fork_mode: str = ""  # "session" (configured once, collected per trial) or "main"

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def failed_tests(self) -> list[str]:
        return [t for t, o in self.outcomes.items() if o == "failed"]

    def passed_tests(self) -> list[str]:
        return [t for t, o in self.outcomes.items() if o == "passed"]


def install_repair_plugin(workspace: Path) -> str:
    """Put the report plugin (a copy, so the test interpreter needs no Theseus) in the
    workspace's plugin folder, which git ignores; the module name for ``-p``."""
    folder = workspace / PLUGIN_DIR
    name = install_plugin(folder)
    (folder / ".gitignore").write_text("*\n", encoding="utf-8")
    return name


def base_env(workspace: Path) -> dict[str, str]:
    """The environment every trial of ``workspace`` starts from: the plugin loaded, plain
    asserts, no recording, no bytecode."""
    plugin = install_repair_plugin(workspace)
    env = {"PYTHONDONTWRITEBYTECODE": "1", "THESEUS_RECORD": "0"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (PLUGIN_DIR, os.environ.get("PYTHONPATH", "")) if p
    )
    env["PYTEST_ADDOPTS"] = f"-p {plugin} {PLAIN_ASSERTS}"
    return env


def forked_trials(workspace: Path, command: str) -> ForkedTrials:
    """The warm trial server for ``workspace`` (started on its first trial)."""
    return ForkedTrials(workspace, command, base_env(workspace), plugin_dir=workspace / PLUGIN_DIR)


def run_tests(
    workspace: Path,
    command: str,
    *,
    timeout: float,
    select: Sequence[str] | None = None,
    failfast: bool = False,
    cover: Sequence[str] = (),
    trials: ForkedTrials | None = None,
) -> TrialRun:
    """Run ``command`` in ``workspace`` with the plugin; read what it reported. With
    ``trials`` the run is a fork of the warm trial server when it can be, else cold."""
    folder = workspace / PLUGIN_DIR
    out = folder / "report.json"
    out.unlink(missing_ok=True)
    env = base_env(workspace)
    trial_env = {"THESEUS_REPORT_JSON": f"{PLUGIN_DIR}/report.json"}
    if cover:
        trial_env["THESEUS_REPORT_COVER"] = os.pathsep.join(cover)
    if select is not None:
        (folder / "select.txt").write_text("\n".join(select) + "\n", encoding="utf-8")
        trial_env["THESEUS_REPORT_SELECT"] = f"{PLUGIN_DIR}/select.txt"
    if failfast:
        trial_env["THESEUS_REPORT_FAILFAST"] = "1"
    forked = trials.run(trial_env, timeout) if trials is not None else None
    if forked is not None:
        run = TrialRun(forked.returncode, forked.output, forked.duration, forked.timed_out)
        run.forked, run.fork_mode = True, forked.mode
    else:
        proc = run_shell(command, workspace, timeout=timeout, extra={**env, **trial_env})
        run = TrialRun(proc.returncode, proc.output, proc.duration, proc.timed_out)
    if out.is_file():
        try:
            report = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = None
        if isinstance(report, dict):
            run.report = report
            run.outcomes = dict(report.get("outcomes", {}))
    return run
