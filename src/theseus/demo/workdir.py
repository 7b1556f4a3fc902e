"""The demo's working copy: the bundled example agent copied into a git repository of its own.

Everything the demo does happens in that copy, so nothing touches the installed package and
whatever it leaves can be inspected afterwards with the ordinary commands in that folder.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import theseus
from theseus.config import load_settings
from theseus.demo.live import run_traffic, traffic_argv
from theseus.errors import DemoError
from theseus.evidence import FailureBatch
from theseus.evolve.batches import current_batches
from theseus.paths import STATE_DIR

EXAMPLE = "support_agent"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", STATE_DIR, ".pytest_cache", ".coverage")
_GITIGNORE = f"__pycache__/\n*.pyc\n{STATE_DIR}/\n.pytest_cache/\n.theseus_replay/\n"
_GIT_IDENTITY = ["-c", "user.name=Theseus demo", "-c", "user.email=demo@theseus.invalid"]


def _example_roots() -> list[Path]:
    package = Path(theseus.__file__).resolve().parent
    return [package / "_examples", package.parents[1] / "examples"]


def example_names() -> list[str]:
    """The bundled examples (folders with a theseus.toml), sorted."""
    found = {
        folder.name
        for root in _example_roots()
        if root.is_dir()
        for folder in root.iterdir()
        if (folder / "theseus.toml").is_file()
    }
    return sorted(found)


def find_example(name: str = EXAMPLE) -> Path:
    """The bundled example: ``theseus/_examples`` in a wheel, else ``examples/`` of a checkout."""
    if name not in example_names():
        known = ", ".join(example_names()) or "none"
        raise DemoError(f"no bundled example {name!r}", hint=f"the examples are: {known}")
    candidates = [root / name for root in _example_roots()]
    for folder in candidates:
        if (folder / "theseus.toml").is_file():
            return folder
    raise DemoError(
        f"the example agent {name!r} is not installed (looked in {candidates[0]} and {candidates[1]})",
        hint="reinstall theseus from its wheel, or run from a source checkout with `make demo`",
    )


def prepare_workdir(
    workdir: Path | None, example: Path | None = None, *, port: int | None = None
) -> tuple[Path, str]:
    """Copy the example into ``workdir`` (default: a new temporary folder) and make it a git
    repository with one commit; returns the folder and the commit id. With ``port`` the
    copy's ``[runtime] port`` is set to it, so ``theseus serve`` / ``deploy`` / ``evolve``
    run in that folder all find the same service."""
    source = example or find_example()
    if workdir is None:
        target = Path(tempfile.mkdtemp(prefix="theseus-demo-"))
    else:
        target = workdir.expanduser().resolve()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise DemoError(
                f"--workdir {target} exists and is not an empty folder",
                hint="pass a new or empty folder, or leave --workdir out for a temporary one",
            )
    try:
        shutil.copytree(source, target, ignore=_IGNORE, dirs_exist_ok=True)
        (target / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")
        if port is not None:
            set_port(target / "theseus.toml", port)
    except OSError as exc:
        raise DemoError(f"cannot copy the example agent to {target}: {exc}") from exc
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, *_GIT_IDENTITY, "commit", "-q", "-m", f"The example {source.name}, as shipped")
    return target, _git(target, "rev-parse", "HEAD").strip()


def _git(cwd: Path, *args: str) -> str:
    if shutil.which("git") is None:
        raise DemoError("git is not installed", hint="install git; the demo keeps versions in it")
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise DemoError(f"git {args[0]} failed in {cwd}: {done.stderr.strip() or done.stdout}")
    return done.stdout


def set_port(config: Path, port: int) -> None:
    """Point ``[runtime] port`` of ``config`` at ``port`` (the example ships with one)."""
    text = config.read_text(encoding="utf-8")
    updated, count = re.subn(r"(?m)^port = \d+$", f"port = {port}", text)
    if count != 1:
        raise DemoError(f"{config} has no single '[runtime] port = N' line to point at {port}")
    config.write_text(updated, encoding="utf-8")


def record_in_process(workdir: Path, sessions: int, seed: int) -> dict[str, Any]:
    """Play ``sessions`` conversations against the copy's own code in a subprocess, without
    a service (evidence for tests and tools that need failures but not a live agent)."""
    return run_traffic(workdir, traffic_argv(None, seed=seed, sessions=sessions))


def curate_workdir(workdir: Path) -> list[FailureBatch]:
    """The failure batches of the demo's evidence, highest score first (as `evolve` sees
    them: wrong answers split by execution path)."""
    return current_batches(load_settings(workdir / "theseus.toml"))
