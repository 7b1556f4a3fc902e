"""Optional static gate (policy.typecheck): reject a candidate that adds mypy errors.

mypy runs on the changed modules twice, on the base and on the candidate (applied in its own
throwaway workspace, never the live tree), with the project's own mypy configuration and no
cache writes. Errors are compared by file, message and code, not line, so code that merely
moved is not blamed; only errors the candidate adds become violations.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from theseus.change.policy.report import Change, Violation
from theseus.change.workspace import WORKING_TREE, Workspace
from theseus.errors import ConfigError

_ERROR = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+): error: (?P<message>.*?)(?:  \[(?P<code>[\w-]+)\])?$"
)
MYPY_TIMEOUT = 300.0


def run_mypy(cwd: Path, files: list[str]) -> list[tuple[str, int, str]]:
    """(file, line, message [code]) for every error mypy reports on ``files`` from ``cwd``."""
    present = [f for f in files if (cwd / f).is_file()]
    if not present:
        return []
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--no-error-summary",
        "--show-error-codes",
        "--no-color-output",
        "--no-pretty",
        "--follow-imports=silent",
        "--cache-dir",
        os.devnull,
        *present,
    ]
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=MYPY_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return [("", 0, f"mypy did not finish within {MYPY_TIMEOUT:.0f} s")]
    if done.returncode not in (0, 1):
        reason = (done.stderr or done.stdout).strip().splitlines()
        return [("", 0, f"mypy failed: {reason[-1] if reason else done.returncode}")]
    errors = []
    for line in done.stdout.splitlines():
        match = _ERROR.match(line)
        if match:
            code = f" [{match['code']}]" if match["code"] else ""
            errors.append((match["file"], int(match["line"]), match["message"] + code))
    return errors


def check_types(change: Change) -> list[Violation]:
    """mypy errors present with the candidate but not on the base."""
    if not change.settings.policy.typecheck:
        return []
    if importlib.util.find_spec("mypy") is None:
        raise ConfigError(
            "policy.typecheck is on but mypy is not installed",
            hint="pip install mypy, or set policy.typecheck = false",
        )
    files = change.python_files()
    if not files:
        return []
    base_errors = run_mypy(change.base_root, files)
    with Workspace.create(change.base_root, WORKING_TREE) as workspace:
        workspace.write(change.patched.texts)
        new_errors = run_mypy(workspace.path, files)
    budget = Counter((file, message) for file, _, message in new_errors)
    budget.subtract(Counter((file, message) for file, _, message in base_errors))
    found = []
    for file, line, message in new_errors:
        if budget[(file, message)] > 0:
            budget[(file, message)] -= 1
            found.append(
                Violation("typecheck", f"new type error: {message}", file or None, line or None)
            )
    return found
