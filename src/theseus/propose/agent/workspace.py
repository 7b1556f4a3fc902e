"""The agent's copy of the code, seen from outside: bounded text, sandboxed commands, and
only mutable changes taken out.

Shared by the coding agent (:mod:`.tools`, :mod:`.proposer`) and the ``command`` proposer,
which both let something else write in a throwaway copy of the project and then take its
diff. Shell commands can write anywhere in that copy, so :func:`restore_outside_mutable`
undoes every change the path rules do not allow before the diff is made.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from theseus.change.workspace import EXCLUDED_DIRS, EXCLUDED_SUFFIXES
from theseus.config import Settings
from theseus.paths import PathRules
from theseus.verify.sandbox import run_sandboxed
from theseus.verify.testrun import check_env, limits_for

MAX_RESULT_CHARS = 12_000


def clip(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """``text`` cut to about ``limit`` characters, keeping the start and (most of) the end,
    where commands print their verdict."""
    if len(text) <= limit:
        return text
    head = limit // 3
    tail = limit - head
    dropped = len(text) - head - tail
    return f"{text[:head]}\n[... {dropped} characters cut ...]\n{text[-tail:]}"


def run_in_sandbox(
    command: str, root: Path, settings: Settings, timeout: float
) -> tuple[int, str, str | None]:
    """``(exit code, stdout + stderr, why it failed or None)`` of a shell command run in the
    sandbox with ``root`` as the only writable folder and its cwd."""
    result = run_sandboxed(
        ["/bin/sh", "-c", command],
        root,
        limits_for(settings, timeout),
        env=check_env(root, settings),
        backend=settings.verify.sandbox,
        allow_weak=settings.verify.allow_weak_sandbox,
        extra_ro_paths=[settings.root / p for p in settings.verify.read_only_paths],
        cwd=root,
    )
    output = result.stdout + (("\n" if result.stdout else "") + result.stderr).rstrip("\n")
    return result.exit_code, output.strip("\n"), result.reason


def describe_exit(code: int, reason: str | None) -> str:
    """``exit status N``, plus the sandbox's reason when it says more (a timeout, a limit)."""
    status = f"exit status {code}"
    return f"{status} ({reason})" if reason and reason != status else status


def restore_outside_mutable(folder: Path, source: Path, rules: PathRules) -> list[str]:
    """Undo, in ``folder`` (a copy of ``source``), every change to a file the rules do not
    call mutable: restore it from ``source`` or delete it. The paths undone, sorted.

    Caches and the folders a workspace never copies are left alone, as are symlinks.
    """
    undone: list[str] = []
    for rel in sorted(_files(folder) | _files(source)):
        if rules.is_mutable(rel):
            continue
        mine, theirs = folder / rel, source / rel
        if _read(mine) == _read(theirs):
            continue
        _clear_links(folder, rel)
        if mine.is_dir():
            shutil.rmtree(mine)
        else:
            mine.unlink(missing_ok=True)
        if theirs.is_file() and not theirs.is_symlink():
            mine.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(theirs, mine)
        undone.append(rel)
    return undone


def _clear_links(folder: Path, rel: str) -> None:
    """Remove symlinks on the way to ``folder/rel`` (the walk never lists files under one,
    so any there was made in the copy), so a restore cannot write through them."""
    here = folder
    for part in PurePosixPath(rel).parts:
        here = here / part
        if here.is_symlink():
            here.unlink()
            return


def _files(root: Path) -> set[str]:
    found: set[str] = set()
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in EXCLUDED_DIRS]
        for name in names:
            full = Path(folder, name)
            if name in EXCLUDED_DIRS or name.endswith(EXCLUDED_SUFFIXES):
                continue
            if full.is_symlink() or not full.is_file():
                continue
            found.add(full.relative_to(root).as_posix())
    return found


def _read(path: Path) -> bytes | None:
    if path.is_symlink() or not path.is_file():
        return None
    return path.read_bytes()
