"""`theseus doctor`: is this machine (and this project) ready for Theseus, and if not, why.

Every check is run even when an earlier one fails, so one call lists everything to fix.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from theseus.cli.output import console, emit, json_option, project_option, table
from theseus.cli.readiness import git_checks, port_check, task_check, tests_check
from theseus.errors import TheseusError

if TYPE_CHECKING:
    from theseus.config import Settings

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"


@dataclass(frozen=True)
class Check:
    """One line of the report; a ``fail`` on an essential check makes doctor exit 1."""

    name: str
    status: str
    detail: str


def _tool_version(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else None


def system_checks() -> list[Check]:
    """Python, git, bubblewrap, and every sandbox backend with whether it works here."""
    from theseus.verify.sandbox import all_backends, detect_backend

    checks: list[Check] = []
    version = platform.python_version()
    good_python = sys.version_info >= (3, 11)
    checks.append(Check("python", OK if good_python else FAIL, f"{version} ({sys.executable})"))
    git = _tool_version(["git", "--version"])
    checks.append(Check("git", OK if git else FAIL, git or "git not found: install git"))
    bwrap = _tool_version(["bwrap", "--version"])
    checks.append(
        Check("bwrap", OK if bwrap else WARN, bwrap or "not installed: apt-get install bubblewrap")
    )
    chosen = detect_backend("auto")
    strong = chosen.isolates_network and chosen.isolates_filesystem
    checks.append(Check("sandbox", OK if strong else WARN, f"using {chosen.name}: {chosen.reason}"))
    for warning in chosen.warnings:
        checks.append(Check("sandbox warning", WARN, warning))
    for name, active, how in chosen.protections or _missing_everything():
        checks.append(Check(f"protection: {name}", OK if active else WARN, how))
    for info in all_backends():
        if info.name != chosen.name:
            state = "available" if info.available else "unavailable"
            checks.append(Check(f"backend {info.name}", INFO, f"{state}: {info.reason}"))
    checks.append(_sandbox_smoke(chosen.name))
    return checks


def _missing_everything() -> tuple[tuple[str, bool, str], ...]:
    """What a backend that reports no protections of its own lacks (rlimits, netns)."""
    from theseus.verify.sandbox.backends import BWRAP_PROTECTIONS

    return tuple((name, False, "needs the bwrap backend") for name in BWRAP_PROTECTIONS)


def _sandbox_smoke(backend: str) -> Check:
    """Start this Python inside the sandbox and import theseus: the real end-to-end proof."""
    from theseus.verify.sandbox import Limits, run_sandboxed

    with tempfile.TemporaryDirectory(prefix="theseus-doctor-") as raw:
        try:
            result = run_sandboxed(
                ["python", "-c", "import theseus, sys; print(sys.version.split()[0])"],
                Path(raw),
                Limits(timeout=30),
                backend=backend,
            )
        except TheseusError as exc:
            return Check("sandbox run", FAIL, exc.line())
    if result.ok:
        return Check(
            "sandbox run", OK, f"python + theseus start in {result.duration * 1000:.0f} ms"
        )
    why = result.reason or "failed"
    tail = result.stderr.strip().splitlines()[-1:] or [""]
    return Check("sandbox run", FAIL, f"python cannot start in the sandbox: {why} {tail[0]}")


def project_checks(project: Path | None, *, run_tests: bool = True) -> list[Check]:
    """theseus.toml loads, the path globs match files, git has a commit, the entrypoint
    imports and is a @theseus.task, the base test suite passes, the service port is free."""
    from theseus.config import check_paths, find_config, load_callable, load_settings

    try:
        config = find_config(project or Path.cwd())
    except TheseusError as exc:
        if project is None:
            return [Check("project", INFO, "not inside a project (no theseus.toml found)")]
        return [Check("config", FAIL, exc.line())]
    checks = [Check("project", INFO, str(config.parent))]
    try:
        settings = load_settings(config, check_globs=False)
    except TheseusError as exc:
        return [*checks, Check("config", FAIL, exc.line())]
    checks.append(Check("config", OK, f"{config.name} loads"))
    try:
        check_paths(settings)
        checks.append(
            Check("paths", OK, f"mutable globs match: {', '.join(settings.paths.mutable)}")
        )
    except TheseusError as exc:
        checks.append(Check("paths", FAIL, exc.line()))
    checks += [Check(*row) for row in git_checks(settings)]
    try:
        entry = load_callable(settings.agent.entrypoint, settings.root, settings.agent.python_path)
        checks.append(Check("entrypoint", OK, f"{settings.agent.entrypoint} imports"))
        checks.append(Check(*task_check(entry, settings.agent.entrypoint)))
    except TheseusError as exc:
        checks.append(Check("entrypoint", FAIL, exc.line()))
    if run_tests:
        checks.append(Check(*tests_check(settings)))
    checks.append(Check(*port_check(settings)))
    return [*checks, *_worker_checks(settings)]


def _worker_checks(settings: Settings) -> list[Check]:
    """How `theseus serve` will confine this project's workers (issue 14's profile)."""
    from theseus.runtime.isolation import worker_profile

    try:
        profile = worker_profile(settings, prepare=False)
    except TheseusError as exc:
        return [Check("served workers", FAIL, exc.line())]
    boxed = profile.mode == "bwrap"
    checks = [Check("served workers", OK if boxed else WARN, f"{profile.mode}: {profile.reason}")]
    for name, active, how in profile.protections():
        optional = name in ("address-space limit", "no network")
        status = OK if active else (INFO if optional else WARN)
        checks.append(Check(f"worker: {name}", status, how))
    return checks


_STYLE = {OK: "[green]ok[/]", WARN: "[yellow]warn[/]", FAIL: "[bold red]FAIL[/]", INFO: "info"}


@click.command()
@click.option(
    "--skip-tests", is_flag=True, help="Do not run the project's test suite (it can be slow)."
)
@project_option
@json_option
def doctor(skip_tests: bool, project: str | None, as_json: bool) -> None:
    """Check that this machine and project are ready: sandbox backend, Python, git, config.

    \b
    Reports which sandbox backend is used and why, what the weaker fallbacks would be,
    and, inside a project, whether theseus.toml loads, the mutable globs match files, the
    project is a git repository with a first commit (and ignores .theseus/), the entrypoint
    imports and is a @theseus.task, the base test suite passes on HEAD (--skip-tests to
    skip) and the service port is free. Exit code 1 when an essential check fails.
    """
    where = Path(project) if project else None
    checks = system_checks() + project_checks(where, run_tests=not skip_tests)
    failed = any(check.status == FAIL for check in checks)
    data = {"ok": not failed, "checks": [asdict(check) for check in checks]}

    def render() -> None:
        rows = [(c.name, _STYLE[c.status], c.detail) for c in checks]
        console.print(table("theseus doctor", ["check", "status", "detail"], rows))
        verdict = "[bold red]not ready[/]" if failed else "[green]ready[/]"
        console.print(f"verdict: {verdict}")

    emit(data, as_json, render)
    if failed:
        sys.exit(1)
