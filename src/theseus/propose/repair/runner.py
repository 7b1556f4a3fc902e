"""Running the project's test command in a workspace, with the repair plugin loaded.

Every test run of the engine goes through :func:`run_shell`, the single place that decides
how a command is executed (the sandbox when ``theseus.verify.sandbox`` is available, a plain
subprocess otherwise), so the sandboxing policy lives in one line, not in every caller.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLUGIN_DIR = ".theseus-repair"
PLUGIN_MODULE = "_theseus_repair_plugin"
_PLUGIN_SOURCE = Path(__file__).with_name("pytest_plugin.py")
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
    """Run a shell command in ``cwd`` in the sandbox (theseus.verify.sandbox), which starts
    from a minimal environment plus ``extra``; a plain subprocess with :func:`base_env`
    plus ``extra`` only where the sandbox package is absent."""
    argv = ["/bin/sh", "-c", command]
    try:
        from theseus.verify.sandbox import Limits, run_sandboxed
    except ImportError:  # pragma: no cover - the sandbox ships with Theseus
        return _run_plain(argv, cwd, timeout, {**base_env(), **extra})
    res = run_sandboxed(argv, cwd, Limits(timeout=timeout, memory_mb=2048), env=extra)
    return ProcessResult(res.exit_code, res.stdout + res.stderr, res.duration, res.timed_out)


def _run_plain(argv: list[str], cwd: Path, timeout: float, env: dict[str, str]) -> ProcessResult:
    start = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else ""
        return ProcessResult(124, out, time.monotonic() - start, True)
    text = proc.stdout.decode("utf-8", "replace")
    return ProcessResult(proc.returncode, text, time.monotonic() - start, False)


@dataclass
class TestRun:
    """One run of the test command; ``report`` is None when pytest (or the plugin) did not run."""

    returncode: int
    output: str
    duration: float
    timed_out: bool
    report: dict[str, Any] | None = None
    outcomes: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def failed_tests(self) -> list[str]:
        return [t for t, o in self.outcomes.items() if o == "failed"]

    def passed_tests(self) -> list[str]:
        return [t for t, o in self.outcomes.items() if o == "passed"]


def install_plugin(workspace: Path) -> None:
    """Put the plugin (a copy, so the test interpreter needs no Theseus) in the workspace."""
    folder = workspace / PLUGIN_DIR
    folder.mkdir(exist_ok=True)
    shutil.copyfile(_PLUGIN_SOURCE, folder / f"{PLUGIN_MODULE}.py")
    (folder / ".gitignore").write_text("*\n", encoding="utf-8")


def base_env() -> dict[str, str]:
    """The environment of every test run: no bytecode caches (a same-size mutant written in
    the same second would otherwise load stale bytecode), no evidence recording, and this
    interpreter's folder first on PATH so `python` / `pytest` resolve as for Theseus."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["THESEUS_RECORD"] = "0"
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("COVERAGE_PROCESS_START", None)
    return env


def run_tests(
    workspace: Path,
    command: str,
    *,
    timeout: float,
    select: Sequence[str] | None = None,
    failfast: bool = False,
    cover: Sequence[str] = (),
) -> TestRun:
    """Run ``command`` in ``workspace`` with the plugin; read what it reported."""
    folder = workspace / PLUGIN_DIR
    if not (folder / f"{PLUGIN_MODULE}.py").is_file():
        install_plugin(workspace)
    out = folder / "report.json"
    out.unlink(missing_ok=True)
    env = {"PYTHONDONTWRITEBYTECODE": "1", "THESEUS_RECORD": "0"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (PLUGIN_DIR, os.environ.get("PYTHONPATH", "")) if p
    )
    env["PYTEST_ADDOPTS"] = f"-p {PLUGIN_MODULE} {PLAIN_ASSERTS}"
    env["THESEUS_REPAIR_OUT"] = f"{PLUGIN_DIR}/report.json"
    if cover:
        env["THESEUS_REPAIR_COVER"] = os.pathsep.join(cover)
    if select is not None:
        (folder / "select.txt").write_text("\n".join(select) + "\n", encoding="utf-8")
        env["THESEUS_REPAIR_SELECT"] = f"{PLUGIN_DIR}/select.txt"
    if failfast:
        env["THESEUS_REPAIR_FAILFAST"] = "1"
    proc = run_shell(command, workspace, timeout=timeout, extra=env)
    run = TestRun(proc.returncode, proc.output, proc.duration, proc.timed_out)
    if out.is_file():
        try:
            report = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = None
        if isinstance(report, dict):
            run.report = report
            run.outcomes = dict(report.get("outcomes", {}))
    return run
