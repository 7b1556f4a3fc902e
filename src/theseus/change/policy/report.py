"""What a policy check found: violations naming the rule, the file and the line."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from theseus.change.apply import Patched
from theseus.change.patch import split_lines
from theseus.config import Settings
from theseus.errors import PolicyViolation


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``line`` is in the candidate's version of the file (or the base's,
    for a deleted file); None when the rule is about the change as a whole."""

    rule: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or "(patch)"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: [{self.rule}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "file": self.file, "line": self.line, "message": self.message}


@dataclass
class PolicyReport:
    """Every violation of one candidate; ``ok`` when there are none."""

    violations: list[Violation] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    changed_lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def rules(self) -> list[str]:
        """The names of the broken rules, each once, in the order found."""
        return list(dict.fromkeys(v.rule for v in self.violations))

    def summary(self) -> str:
        """One line: 'ok', or the first violation and how many more there are."""
        if self.ok:
            return f"ok ({len(self.files)} files, {self.changed_lines} changed lines)"
        more = len(self.violations) - 1
        return str(self.violations[0]) + (f" (+{more} more)" if more else "")

    def raise_if_violated(self) -> None:
        """Raise :class:`PolicyViolation` (one line) when any rule was broken."""
        if not self.ok:
            raise PolicyViolation(f"candidate rejected by policy: {self.summary()}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.files,
            "changed_lines": self.changed_lines,
            "violations": [v.to_dict() for v in self.violations],
        }


@dataclass
class Change:
    """A candidate's effect, as the rules see it: old and new text of every changed file."""

    patched: Patched
    settings: Settings
    base_root: Path

    @property
    def paths(self) -> list[str]:
        return self.patched.files

    def old(self, path: str) -> str | None:
        return self.patched.old_texts.get(path)

    def new(self, path: str) -> str | None:
        return self.patched.texts.get(path)

    @cached_property
    def added_lines(self) -> dict[str, set[int]]:
        """1-based line numbers of each new text that the change added or rewrote."""
        added: dict[str, set[int]] = {}
        for path in self.paths:
            new = self.new(path)
            if new is None:
                continue
            old_lines = split_lines(self.old(path) or "")
            new_lines = split_lines(new)
            matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
            lines: set[int] = set()
            for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
                if tag in ("replace", "insert"):
                    lines.update(range(j1 + 1, j2 + 1))
            added[path] = lines
        return added

    def python_files(self) -> list[str]:
        """Changed paths that are Python source in the candidate."""
        return [p for p in self.paths if p.endswith(".py") and self.new(p) is not None]
