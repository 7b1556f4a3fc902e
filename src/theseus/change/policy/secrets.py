"""Secrets: the patterns for keys, tokens and passwords, and the rule that a candidate
may not add one (rule ``secret``, switch: policy.secrets).

A candidate is stored (archive, git refs, audit log), shown to people and, once promoted,
committed; a credential it adds (one a model copied out of evidence or its prompt, or one
it made up that looks real) leaks everywhere at once. The patterns live here, in the change
stage, because both this rule and the prompt redactor of ``theseus.propose.llm`` need them
and ``propose`` may import ``change``, never the other way round.

The rule looks at every changed text file, not only Python, and blames a match only where
it touches a line the change added and the base did not already hold the same value.
Messages name the file, the line and the kind of secret, never the value.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

from theseus.change.policy.report import Change, Violation

RULE = "secret"

# A value that looks like a call argument or a name in code (``password=password,``) is not
# a secret; everything else after ``password=`` is.
_NOT_CODE = r"(?![A-Za-z_][A-Za-z0-9_.]*\s*[,)(\]])"
_SECRET_KEY = (
    r"[A-Za-z0-9_-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|"
    r"access[_-]?key|private[_-]?key|credentials?)[A-Za-z0-9_-]*"
)

SECRET_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----",
    ),
    ("api_key", r"\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}"),
    ("aws_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    ("slack_token", r"\bxox[bpars]-[A-Za-z0-9-]{10,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}"),
    ("token", r"(?i)\bbearer\s+(?P<value>[A-Za-z0-9._~+/-]{8,}=*)"),
    (
        "secret",
        rf"""(?ix)\b{_SECRET_KEY}["']?\s*[:=]\s*
        (?:"(?P<dq>[^"\n]{{1,200}})"|'(?P<sq>[^'\n]{{1,200}})')""",
    ),
    ("secret", rf"(?i)\b{_SECRET_KEY}[:=]{_NOT_CODE}(?P<value>[^\s\"',;&)}}\]]{{1,200}})"),
)
"""``(label, regex)`` for credentials. A named group (``value``, ``dq``, ``sq``) narrows the
match to the secret itself, keeping the key (``password=``) readable."""

PERSONAL_PATTERNS: tuple[tuple[str, str], ...] = (
    ("email", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
)
"""Personal data: redacted from prompts, but an address in code (a support mailbox) is no
reason to reject a change."""

VALUE_GROUPS = ("value", "dq", "sq")
_EXTRA = (("private_key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),)
"""Only in the rule: a key's first line is enough to reject a diff (a prompt redacts the
whole block, so the redactor needs the full pattern)."""


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((label, re.compile(regex)) for label, regex in SECRET_PATTERNS + _EXTRA)


def value_span(match: re.Match[str]) -> tuple[int, int]:
    """The span of the secret itself: its value group when the pattern has one."""
    groups = match.re.groupindex
    for name in VALUE_GROUPS:
        if name in groups and match.group(name) is not None:
            return match.span(name)
    return match.span()


def find_secrets(text: str) -> list[tuple[str, str, int, int]]:
    """(label, value, first line, last line) of every credential-looking match; lines are
    counted on ``\n``, as the diff and the added-line numbers count them."""
    breaks = [i for i, char in enumerate(text) if char == "\n"]
    found = []
    for label, regex in _compiled():
        for match in regex.finditer(text):
            start, end = value_span(match)
            if end > start:
                first = bisect.bisect_left(breaks, start) + 1
                last = bisect.bisect_left(breaks, end - 1) + 1
                found.append((label, text[start:end], first, last))
    return found


def check_secrets(change: Change) -> list[Violation]:
    """Credentials the diff adds (see the module docstring); the value is never shown."""
    if not change.settings.policy.secrets:
        return []
    found = []
    for path in change.paths:
        text = change.new(path)
        if text is None:
            continue
        old = change.old(path) or ""
        added = change.added_lines.get(path, set())
        blamed: set[int] = set()
        for label, value, first, last in find_secrets(text):
            lines = [n for n in range(first, last + 1) if n in added]
            if not lines or value in old or lines[0] in blamed:
                continue
            blamed.add(lines[0])
            found.append(
                Violation(
                    RULE,
                    f"adds what looks like a secret ({label}; the value is not shown): remove "
                    "it and read it at run time, e.g. from an environment variable",
                    path,
                    lines[0],
                )
            )
    return found
