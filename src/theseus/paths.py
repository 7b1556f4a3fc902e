"""Glob rules for project paths: which files are mutable, which are protected.

Patterns are relative to the project root and use ``**`` for any number of folders, as in
``support_agent/skills/**/*.py``. One matcher is shared by config checks, the curator (is a
frame in mutable code?), policy (may this file change?) and the proposers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath

STATE_DIR = ".theseus"
"""The folder in a project where Theseus keeps its own files (evidence, archive, audit log)."""
DEFAULT_EVIDENCE_STORE = f"{STATE_DIR}/evidence.db"


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(parts) + r"\Z")


def glob_match(pattern: str, relpath: str) -> bool:
    """Whether a POSIX relative path matches a glob pattern with ``**`` support."""
    return (
        _glob_regex(pattern[2:] if pattern.startswith("./") else pattern).match(relpath) is not None
    )


def relative_posix(path: str | Path, root: Path) -> str | None:
    """``path`` relative to ``root`` in POSIX form, or None when it lies outside root."""
    candidate = Path(path)
    if not candidate.is_absolute():
        return PurePosixPath(candidate).as_posix()
    try:
        return candidate.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


@dataclass(frozen=True)
class PathRules:
    """Mutable and protected globs of one project. Protected wins over mutable."""

    root: Path
    mutable: Sequence[str]
    protected: Sequence[str] = field(default_factory=tuple)

    def is_mutable(self, path: str | Path) -> bool:
        rel = relative_posix(path, self.root)
        if rel is None or self.is_protected(rel):
            return False
        return any(glob_match(p, rel) for p in self.mutable)

    def is_protected(self, path: str | Path) -> bool:
        rel = relative_posix(path, self.root)
        return rel is not None and any(glob_match(p, rel) for p in self.protected)

    def mutable_files(self) -> list[str]:
        """Every existing file the rules allow a candidate to change, sorted."""
        found: set[str] = set()
        for pattern in self.mutable:
            for match in self.root.glob(pattern):
                rel = match.relative_to(self.root).as_posix()
                if match.is_file() and self.is_mutable(rel):
                    found.add(rel)
        return sorted(found)


def rules_from(root: Path, mutable: Iterable[str], protected: Iterable[str] = ()) -> PathRules:
    return PathRules(root=root, mutable=tuple(mutable), protected=tuple(protected))
