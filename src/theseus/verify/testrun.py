"""Run a set of checks in the sandbox and learn the outcome of every single one.

Scoring needs per-check outcomes, not just an exit code: a regression is "this test passed on
the base and fails on the candidate". The report plugin (:mod:`theseus.verify.pytest_plugin`,
copied next to the checks, so it works whatever is installed in the sandboxed interpreter)
appends one JSON line per test phase and flushes it at once: when the sandbox kills pytest for
a timeout or a crash, the lines written so far still say which tests finished and which one
was running.

A project test command that is not pytest still runs; then only its exit code counts, as the
single check ``SUITE_CHECK``.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from theseus.config import Settings
from theseus.errors import ConfigError
from theseus.verify.sandbox import Limits, run_sandboxed

CheckOutcome = Literal["passed", "failed", "error", "skipped", "timeout", "not_run"]
PASSING: frozenset[str] = frozenset({"passed", "skipped"})
SUITE_CHECK = "<test command>"
WORK_DIR = ".theseus_replay"
PLUGIN_MODULE = "_theseus_report"
_TAIL = 4000

PLUGIN_FILE = "pytest_plugin.py"


def install_plugin(folder: Path) -> str:
    """Copy the report plugin (:mod:`theseus.verify.pytest_plugin`) into ``folder``, so a
    test interpreter without Theseus can load it; returns the name to pass to ``-p``."""
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(__file__).with_name(PLUGIN_FILE)
    target = folder / f"{PLUGIN_MODULE}.py"
    text = source.read_text(encoding="utf-8")
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return PLUGIN_MODULE


class CheckResult(BaseModel):
    """The outcome of one check (a pytest node id, or the whole non-pytest command)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    outcome: CheckOutcome
    duration: float = 0.0
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in PASSING


class CheckRun(BaseModel):
    """Everything one sandboxed run of a check set told us."""

    __test__ = False  # not a pytest test class, despite the name
    model_config = ConfigDict(extra="forbid")

    checks: dict[str, CheckResult] = Field(default_factory=dict)
    returncode: int | None = None
    duration: float = 0.0
    timed_out: bool = False
    finished: bool = Field(default=False, description="pytest reached the end of its session")
    collection_errors: list[str] = Field(default_factory=list)
    reason: str = Field(default="", description="why the run as a whole did not succeed")
    backend: str = ""
    forwarded_calls: list[dict[str, Any]] = Field(
        default_factory=list,
        description="calls the recording lacked that went to [replay] forward_url, recorded",
    )
    structured: bool = Field(default=True, description="per-test outcomes (pytest) or exit code")
    output_tail: str = ""

    def outcomes(self) -> dict[str, str]:
        return {check_id: result.outcome for check_id, result in self.checks.items()}

    def count(self, *outcomes: str) -> int:
        return sum(1 for r in self.checks.values() if r.outcome in outcomes)

    @property
    def ok(self) -> bool:
        """Every check passed and the run itself ended cleanly."""
        return (
            not self.timed_out
            and not self.collection_errors
            and self.returncode in (0, 5)  # 5: pytest collected nothing
            and all(r.ok for r in self.checks.values())
        )


def parse_report(lines: list[str], *, timed_out: bool) -> CheckRun:
    """Turn the plugin's JSON lines into per-check outcomes; tolerate any damage.

    A test that started but has no final report was running when pytest died: that is a
    ``timeout`` when the sandbox timed out, else an ``error`` (a crash, e.g. the process was
    killed for memory). Unreadable lines (a partial last line) are ignored.
    """
    run = CheckRun(timed_out=timed_out)
    started: list[str] = []
    phases: dict[str, list[dict[str, object]]] = {}
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        nodeid = str(event.get("nodeid", ""))
        if kind == "start":
            started.append(nodeid)
        elif kind == "report":
            phases.setdefault(nodeid, []).append(event)
        elif kind == "collect_error":
            run.collection_errors.append(f"{nodeid or '<session>'}: {event.get('message', '')}")
        elif kind == "finish":
            run.finished = True
    for nodeid in dict.fromkeys([*started, *phases]):
        run.checks[nodeid] = _combine(nodeid, phases.get(nodeid, []), timed_out, run.finished)
    return run


def _combine(
    nodeid: str, phases: list[dict[str, object]], timed_out: bool, finished: bool
) -> CheckResult:
    duration = sum(float(str(p.get("duration", 0.0))) for p in phases)
    by_when = {str(p.get("when")): p for p in phases}
    for when in ("setup", "call", "teardown"):
        phase = by_when.get(when)
        if phase is None:
            continue
        outcome, message = str(phase.get("outcome")), str(phase.get("message", ""))
        if outcome == "failed":
            kind: CheckOutcome = "failed" if when == "call" else "error"
            return CheckResult(id=nodeid, outcome=kind, duration=duration, message=message)
        if outcome == "skipped":
            return CheckResult(id=nodeid, outcome="skipped", duration=duration, message=message)
    if "teardown" in by_when or ("call" in by_when and finished):
        return CheckResult(id=nodeid, outcome="passed", duration=duration)
    if timed_out:
        return CheckResult(id=nodeid, outcome="timeout", duration=duration, message="timed out")
    return CheckResult(
        id=nodeid, outcome="error", duration=duration, message="the test process died mid-test"
    )


def split_command(command: str) -> list[str]:
    """The project's test command as argv; ``python`` means the interpreter Theseus runs on."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"tests.command {command!r} cannot be split: {exc}") from None
    if not argv:
        raise ConfigError("tests.command is empty", hint="set it, e.g. 'python -m pytest -q'")
    if argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    elif argv[0] in ("pytest", "py.test"):
        argv[:1] = [sys.executable, "-m", "pytest"]
    return argv


def is_pytest(argv: list[str]) -> bool:
    """Whether argv runs pytest (so per-test outcomes can be had)."""
    if Path(argv[0]).name in ("pytest", "py.test"):
        return True
    return len(argv) >= 3 and argv[1] == "-m" and argv[2] in ("pytest", "py.test")


def without_exitfirst(argv: list[str]) -> list[str]:
    """argv minus ``-x``/``--exitfirst``/``--maxfail``: a baseline must see every check."""
    result: list[str] = []
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        if arg in ("-x", "--exitfirst"):
            continue
        if arg == "--maxfail":
            skip_next = True
            continue
        if arg.startswith("--maxfail="):
            continue
        result.append(arg)
    return result


def check_env(
    workspace: Path, settings: Settings, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """What a check run adds to the sandbox's minimal environment: recording off, the
    workspace (and ``agent.python_path``) first on the import path, stable hashing."""
    python_path = [str((workspace / entry).resolve()) for entry in settings.agent.python_path]
    python_path.append(str(workspace / WORK_DIR))
    env = {
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONHASHSEED": "0",
        "THESEUS_RECORD": "0",
    }
    env.update(extra or {})
    return env


def limits_for(settings: Settings, timeout: float) -> Limits:
    """The sandbox limits of ``[verify]``, with this run's wall-clock timeout."""
    v = settings.verify
    return Limits(
        timeout=timeout,
        memory_mb=v.memory_mb,
        cpu_seconds=v.cpu_seconds,
        max_processes=v.max_processes,
        max_file_mb=v.max_file_mb,
        tmp_mb=v.tmp_mb,
        memory_cgroup=v.memory_cgroup,
    )


def run_checks(
    argv: list[str],
    workspace: Path,
    settings: Settings,
    *,
    timeout: float,
    structured: bool | None = None,
    env: dict[str, str] | None = None,
) -> CheckRun:
    """Run ``argv`` in the sandbox at ``workspace``; per-test outcomes when it is pytest.
    ``env`` adds to the checks' environment (e.g. the call forwarder's socket)."""
    structured = is_pytest(argv) if structured is None else structured
    work = workspace / WORK_DIR
    work.mkdir(exist_ok=True)
    extra: dict[str, str] = dict(env or {})
    report = work / f"report-{uuid.uuid4().hex}.jsonl"
    if structured:
        argv = [*argv, "-p", install_plugin(work), "-p", "no:cacheprovider"]
        extra["THESEUS_REPORT_PATH"] = str(report)
    result = run_sandboxed(
        argv,
        workspace,
        limits_for(settings, timeout),
        env=check_env(workspace, settings, extra),
        backend=settings.verify.sandbox,
        allow_weak=settings.verify.allow_weak_sandbox,
        extra_ro_paths=[settings.root / p for p in settings.verify.read_only_paths],
        cwd=workspace,
    )
    tail = (result.stdout + result.stderr)[-_TAIL:]
    if structured:
        try:
            lines = report.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            lines = []
        report.unlink(missing_ok=True)
        run = parse_report(lines, timed_out=result.timed_out)
    else:
        outcome: CheckOutcome = (
            "timeout" if result.timed_out else ("passed" if result.ok else "failed")
        )
        run = CheckRun(structured=False, timed_out=result.timed_out)
        run.checks[SUITE_CHECK] = CheckResult(
            id=SUITE_CHECK, outcome=outcome, duration=result.duration, message=tail[-500:]
        )
    run.returncode = result.returncode
    run.duration = result.duration
    run.backend = result.backend
    run.output_tail = tail
    run.reason = _reason(run, result.reason or "")
    return run


def _reason(run: CheckRun, sandbox_reason: str) -> str:
    if run.timed_out:
        return f"timed out ({sandbox_reason})" if sandbox_reason else "timed out"
    if run.collection_errors:
        return f"{len(run.collection_errors)} collection error(s): {run.collection_errors[0][:300]}"
    if run.structured and not run.finished and run.returncode not in (0, 5):
        why = sandbox_reason or f"exit status {run.returncode}"
        return f"pytest did not finish: {why}"
    failing = [r.id for r in run.checks.values() if not r.ok]
    if failing:
        return f"{len(failing)} check(s) failed, first: {failing[0]}"
    if run.returncode not in (0, 5):
        return sandbox_reason or f"exit status {run.returncode}"
    return ""


def run_test_suite(workspace: Path, settings: Settings, *, exitfirst: bool = True) -> CheckRun:
    """The project's own test command (``tests.command``) in the sandbox."""
    argv = split_command(settings.tests.command)
    structured = is_pytest(argv)
    if structured:
        if not exitfirst:
            argv = without_exitfirst(argv)
        argv = [*argv, f"--rootdir={workspace}"]
    return run_checks(
        argv, workspace, settings, timeout=settings.tests.timeout, structured=structured
    )
