"""Policy: the rules a candidate must pass before any of its code runs.

:func:`check` looks at the candidate's *result* in memory (the base files plus the patch,
nothing written, nothing of the candidate imported) and returns a :class:`PolicyReport`
listing every violation with its rule, file and line, and every capability the change adds.
Rules, in order: the patch applies; every file is exactly the text Python will run
(``source-bytes``; when it fails nothing else is judged, as the other rules would read a
different program); the result parses; only mutable paths change (protected paths and,
unless allowed, tests never do); protected signatures keep their parameters; no forbidden
or dynamic-capability construct is added; imports come from the allowlist
(``capability``); no placeholder replaces code; no secret is added; the change is within
the size limits; optionally, no new mypy error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from theseus.change.apply import patched_texts
from theseus.change.candidate import Candidate
from theseus.change.policy.capabilities import check_capabilities
from theseus.change.policy.constructs import CATEGORIES, check_constructs, find_constructs
from theseus.change.policy.placeholders import check_placeholders
from theseus.change.policy.report import Capability, Change, PolicyReport, Violation
from theseus.change.policy.rules import (
    check_parses,
    check_paths,
    check_signatures,
    check_size,
    is_test_file,
)
from theseus.change.policy.secrets import PERSONAL_PATTERNS, SECRET_PATTERNS, check_secrets
from theseus.change.policy.source_bytes import check_source_bytes
from theseus.change.policy.typecheck import check_types
from theseus.config import Settings
from theseus.errors import PatchError

Rule = Callable[[Change], list[Violation]]
RULES: tuple[Rule, ...] = (
    check_source_bytes,  # first: the rules after it are only sound for what it lets through
    check_parses,
    check_paths,
    check_signatures,
    check_constructs,
    check_capabilities,
    check_placeholders,
    check_secrets,
    check_size,
)

__all__ = [
    "CATEGORIES",
    "PERSONAL_PATTERNS",
    "RULES",
    "SECRET_PATTERNS",
    "Capability",
    "PolicyReport",
    "Violation",
    "check",
    "find_constructs",
    "is_test_file",
]


def check(candidate_or_diff: Candidate | str, settings: Settings, base_root: Path) -> PolicyReport:
    """Every policy violation of a candidate against the files under ``base_root``.

    ``base_root`` must hold the candidate's base (the project at its base commit, usually a
    fresh :class:`~theseus.change.workspace.Workspace`); it is only read. A patch that is
    malformed or does not apply is reported as a violation of rule ``applies``.
    """
    diff = candidate_or_diff.diff if isinstance(candidate_or_diff, Candidate) else candidate_or_diff
    try:
        patched = patched_texts(base_root, diff)
    except PatchError as exc:
        return PolicyReport(violations=[Violation("applies", exc.line())])
    change = Change(patched=patched, settings=settings, base_root=base_root)
    report = PolicyReport(
        files=change.paths,
        changed_lines=sum(p.added + p.removed for p in patched.patches),
        capabilities=change.capabilities,
    )
    for rule in RULES:
        report.violations.extend(rule(change))
        if rule is check_source_bytes and report.violations:
            return report
    report.violations = _without_echoes(report.violations)
    report.capabilities.sort(key=lambda c: (c.file, c.line))
    parse_failed = any(v.rule == "parses" for v in report.violations)
    if settings.policy.typecheck and not parse_failed:
        report.violations.extend(check_types(change))
    return report


def _without_echoes(violations: list[Violation]) -> list[Violation]:
    """Drops a ``capability`` violation where a ``forbidden-*`` one already blames the
    same line: ``import subprocess`` is one problem, reported by its category."""
    forbidden = {(v.file, v.line) for v in violations if v.rule.startswith("forbidden-")}
    return [v for v in violations if v.rule != "capability" or (v.file, v.line) not in forbidden]
