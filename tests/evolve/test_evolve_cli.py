"""`theseus evolve` usage errors are one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_bad_cycles_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "theseus.cli.main", "evolve", "--cycles", "0"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "--cycles" in done.stderr


def test_no_project_is_one_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "theseus.cli.main", "evolve", "--project", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
