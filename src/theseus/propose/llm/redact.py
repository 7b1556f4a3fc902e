"""Take secrets and personal data out of a prompt before it leaves the machine.

Evidence is production traffic: inputs carry customers' e-mail addresses, logs carry API keys
and bearer tokens. None of that may reach a hosted model. A :class:`Redactor` replaces every
match of its patterns (defaults for keys, tokens, passwords, private keys and e-mail
addresses, plus the project's own ``[propose.llm] redact`` regexes) with a placeholder such
as ``[REDACTED:email#1]``. Placeholders are stable: the same value gets the same placeholder
everywhere in one prompt, so the model can still see that the address in the input is the
one in the traceback. :meth:`Redactor.restore` maps placeholders in the model's answer back
to the values, so a SEARCH block quoting redacted code still matches the file.

All patterns are matched against the original text in one pass (earliest match wins, then
the longest), so a placeholder is never itself re-redacted by a later pattern.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from theseus.change import PERSONAL_PATTERNS, SECRET_PATTERNS
from theseus.errors import TheseusError

DEFAULT_PATTERNS: tuple[tuple[str, str], ...] = SECRET_PATTERNS + PERSONAL_PATTERNS
"""``(label, regex)``: the label names the placeholder. A named group (``value``, ``dq``,
``sq``) narrows what is replaced to that group, keeping the key (``password=``) readable.
The patterns live in :mod:`theseus.change.policy.secrets`, which the policy's ``secret``
rule shares."""

_VALUE_GROUPS = ("value", "dq", "sq")
_PLACEHOLDER = re.compile(r"\[REDACTED:([a-z_]+)#(\d+)\]")


@dataclass(frozen=True)
class _Rule:
    label: str
    regex: re.Pattern[str]
    priority: int


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A user's ``[propose.llm] redact`` regex, or TheseusError naming it and what is wrong."""
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise TheseusError(
            f"[propose.llm] redact pattern {pattern!r} is not a valid regex: {exc}",
            hint="write a Python regular expression; escape literal brackets and dots",
        ) from None
    if regex.fullmatch("") is not None:
        raise TheseusError(
            f"[propose.llm] redact pattern {pattern!r} matches the empty string",
            hint="make it match at least one character (use + rather than *)",
        )
    return regex


class Redactor:
    """Replaces secrets and personal data with stable placeholders; one instance per prompt.

    ``patterns`` are the project's extra regexes (labelled ``custom``); the defaults always
    apply. A pattern with a named group ``value`` replaces only that group.
    """

    def __init__(self, patterns: Sequence[str] = ()) -> None:
        rules = [
            _Rule(label, re.compile(regex), index)
            for index, (label, regex) in enumerate(DEFAULT_PATTERNS)
        ]
        for offset, pattern in enumerate(patterns):
            rules.append(_Rule("custom", compile_pattern(pattern), len(rules) + offset))
        self._rules = tuple(rules)
        self._placeholders: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    @property
    def count(self) -> int:
        """How many distinct values have been redacted so far."""
        return len(self._values)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by its placeholder."""
        spans = self._spans(text)
        if not spans:
            return text
        out: list[str] = []
        last = 0
        for start, end, label in spans:
            out.append(text[last:start])
            out.append(self._placeholder(label, text[start:end]))
            last = end
        out.append(text[last:])
        return "".join(out)

    def restore(self, text: str) -> str:
        """``text`` with every placeholder this redactor made put back to its value."""
        return _PLACEHOLDER.sub(lambda m: self._values.get(m.group(0), m.group(0)), text)

    def _placeholder(self, label: str, value: str) -> str:
        key = (label, value)
        found = self._placeholders.get(key)
        if found is None:
            number = self._counts.get(label, 0) + 1
            self._counts[label] = number
            found = f"[REDACTED:{label}#{number}]"
            self._placeholders[key] = found
            self._values[found] = value
        return found

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping ``(start, end, label)`` to replace, in order."""
        taken = [m.span() for m in _PLACEHOLDER.finditer(text)]  # never re-redact these
        found: list[tuple[int, int, int, str]] = []
        for rule in self._rules:
            for match in rule.regex.finditer(text):
                start, end = _value_span(match)
                if end > start and not any(s < end and start < e for s, e in taken):
                    found.append((start, -end, rule.priority, rule.label))
        found.sort()
        chosen: list[tuple[int, int, str]] = []
        reach = 0
        for start, negative_end, _, label in found:
            if start >= reach:
                chosen.append((start, -negative_end, label))
                reach = -negative_end
        return chosen


def _value_span(match: re.Match[str]) -> tuple[int, int]:
    groups = match.re.groupindex
    for name in _VALUE_GROUPS:
        if name in groups and match.group(name) is not None:
            return match.span(name)
    return match.span()
