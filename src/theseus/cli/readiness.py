"""What `theseus doctor` checks of a project beyond its config: the things that made it say
"ready" for projects that were not (no git, no first commit, an entrypoint without
``@theseus.task``, a failing base test suite, a service port another program holds)."""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from theseus.config import Settings

__all__ = ["git_checks", "port_check", "port_holder", "task_check", "tests_check"]

CheckRow = tuple[str, str, str]  # (name, status, detail); doctor turns them into Checks


def _git(root: Any, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None


def git_checks(settings: Settings) -> list[CheckRow]:
    """A git repository with at least one commit: every live version is a commit."""
    top = _git(settings.root, "rev-parse", "--show-toplevel")
    if top is None:
        return [("git", "fail", "git is not installed: install git (every version is a commit)")]
    if top.returncode != 0:
        return [("git", "fail", f"{settings.root} is not in a git repository: run `git init`"
                 " and commit the agent")]  # fmt: skip
    head = _git(settings.root, "rev-parse", "--verify", "--quiet", "HEAD")
    if head is None or head.returncode != 0:
        return [("git", "fail", "the repository has no commit yet: `git add -A && git commit`")]
    ignored = _git(settings.root, "check-ignore", "-q", str(settings.state_dir / "x"))
    checks = [("git", "ok", f"repository {top.stdout.strip()}, HEAD {head.stdout.strip()[:12]}")]
    if ignored is not None and ignored.returncode != 0:
        checks.append(("git ignores .theseus", "warn", "add `.theseus/` to .gitignore (its"
                       " state must not be committed)"))  # fmt: skip
    return checks


def task_check(entrypoint: Callable[..., Any], spec: str) -> CheckRow:
    """The entrypoint records evidence only if ``@theseus.task`` wraps it."""
    if getattr(entrypoint, "__theseus_task__", None) is None:
        return ("entrypoint records", "fail", f"{spec} is not a @theseus.task: decorate it so"
                " its calls become evidence")  # fmt: skip
    return ("entrypoint records", "ok", f"{spec} is a @theseus.task")


def tests_check(settings: Settings) -> CheckRow:
    """The base test suite passes: verification compares every candidate against it."""
    try:
        argv = shlex.split(settings.tests.command)
    except ValueError as exc:
        return ("base tests", "fail", f"[tests] command does not parse: {exc}")
    env = {**os.environ, "THESEUS_RECORD": "0"}
    try:
        done = subprocess.run(
            argv, cwd=settings.root, capture_output=True, text=True, env=env,
            timeout=settings.tests.timeout, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        return ("base tests", "fail", f"{argv[0]!r} is not installed ([tests] command)")
    except subprocess.TimeoutExpired:
        return ("base tests", "fail", f"ran over [tests] timeout ({settings.tests.timeout:g} s)")
    if done.returncode != 0:
        lines = (done.stdout + done.stderr).strip().splitlines()
        return ("base tests", "fail", f"the suite fails on HEAD (exit {done.returncode}):"
                f" {lines[-1] if lines else 'no output'}")  # fmt: skip
    return ("base tests", "ok", f"`{settings.tests.command}` passes")


def port_holder(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None when it is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def port_check(settings: Settings) -> CheckRow:
    """The service port is free, or held by this project's own running service."""
    from theseus.runtime.discovery import find_service

    host, port = settings.runtime.host, settings.runtime.port
    held = port_holder(host, port)
    if held is None:
        return ("service port", "ok", f"{host}:{port} is free")
    live = find_service(settings)
    if live.url == f"http://{host}:{port}":
        return ("service port", "info", f"{host}:{port}: this project's service runs there")
    return ("service port", "warn", f"{host}:{port} is taken ({held}): `theseus serve` would"
            " fail there; set [runtime] port or pass --port")  # fmt: skip
