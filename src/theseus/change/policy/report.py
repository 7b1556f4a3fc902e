"""What a policy check found: violations naming the rule, the file and the line, and the
capabilities the change adds (what it can newly reach), each with a verdict."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

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


Verdict = Literal["allowed", "consent", "rejected"]


@dataclass(frozen=True)
class Capability:
    """Something the change can newly reach: an import the base module did not have
    (``kind="import"``) or a dynamic path to capabilities (``kind="construct"``).

    ``verdict`` is ``allowed`` (within policy.allowed_imports, the project's package, or a
    relative import), ``consent`` (beyond the allowlist, and policy.capability_changes is
    "consent": a person must approve it) or ``rejected`` (a violation says why)."""

    kind: Literal["import", "construct"]
    name: str
    file: str
    line: int
    verdict: Verdict
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.name} ({self.verdict})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "verdict": self.verdict,
            "reason": self.reason,
        }


@dataclass
class PolicyReport:
    """Every violation of one candidate; ``ok`` when there are none.

    ``capabilities`` lists what the change can newly reach. ``needs_consent`` is True when
    any of it waits for a person's consent (policy.capability_changes = "consent"); such a
    report can still be ``ok``, and the caller must send the candidate to consent with
    ``capabilities`` rather than let it through.
    """

    violations: list[Violation] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    changed_lines: int = 0
    capabilities: list[Capability] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def needs_consent(self) -> bool:
        return any(c.verdict == "consent" for c in self.capabilities)

    @property
    def rules(self) -> list[str]:
        """The names of the broken rules, each once, in the order found."""
        return list(dict.fromkeys(v.rule for v in self.violations))

    def summary(self) -> str:
        """One line: 'ok' (with what waits for consent, or else what is newly imported), or
        the first violation and how many more there are."""
        if not self.ok:
            more = len(self.violations) - 1
            return str(self.violations[0]) + (f" (+{more} more)" if more else "")
        line = f"ok ({len(self.files)} files, {self.changed_lines} changed lines)"
        waiting = [
            f"{c.file}:{c.line} {c.name}" for c in self.capabilities if c.verdict == "consent"
        ]
        if waiting:
            return f"{line}; needs consent for {_first(waiting)}"
        new = sorted({c.name for c in self.capabilities})
        return f"{line}; new: {_first(new)}" if new else line

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
            "needs_consent": self.needs_consent,
            "capabilities": [c.to_dict() for c in self.capabilities],
        }


def _first(items: list[str], shown: int = 3) -> str:
    more = f" (+{len(items) - shown} more)" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


@dataclass
class Change:
    """A candidate's effect, as the rules see it: old and new text of every changed file.
    Rules that find capabilities append them to ``capabilities`` for the report."""

    patched: Patched
    settings: Settings
    base_root: Path
    capabilities: list[Capability] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return self.patched.files

    def old(self, path: str) -> str | None:
        return self.patched.old_texts.get(path)

    def new(self, path: str) -> str | None:
        return self.patched.texts.get(path)

    def base(self, path: str) -> str | None:
        """The base text of ``path``, following a rename back to the file it came from."""
        for patch in self.patched.patches:
            if patch.is_rename and patch.new_path == path and patch.old_path is not None:
                return self.patched.old_texts.get(patch.old_path)
        return self.old(path)

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
