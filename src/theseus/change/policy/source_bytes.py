"""The policy judges the bytes Python will run (rule ``source-bytes``, run first).

Every other rule reads a candidate's files as ``str`` and parses them with ``ast``; the
files are then written as UTF-8 (:func:`theseus.change.apply.write_texts`) and Python
decodes them again to run them. Where those two readings can differ, the policy checks one
program and the host runs another:

- a coding declaration (PEP 263: ``# coding: utf-7`` in the first two lines) makes Python
  decode the bytes with another codec, in which ``+AAo-`` is a newline that turns a comment
  into an ``import``; ``ast.parse`` of a str ignores it. Any declaration of another codec is
  refused; one that names UTF-8 itself (``utf-8``, ``utf8``, ``UTF-8``: what older projects
  carry in every header) changes nothing and is allowed;
- a byte order mark, which Python strips and ``ast`` refuses, so the two disagree;
- a lone carriage return: Python's tokenizer ends a line at a lone ``\\r``, while diffs,
  editors and the rules' added-line numbers split on ``\\n`` only, so a statement after a
  lone ``\\r`` sits on a line the policy thinks it did not add (``\\r\\n`` is one line break
  to both, so files with Windows line endings are fine);
- other control characters (``\\x0c`` resets the indentation count, so a line that looks
  inside an ``if`` runs outside it), format characters such as the bidirectional overrides
  of Trojan Source (U+202E makes reviewers read code in another order than Python) and
  zero-width ones, and the Unicode line/paragraph separators (line breaks to editors and
  ``str.splitlines``, not to Python);
- text that is not valid UTF-8: lone surrogates, which a ``surrogateescape`` decode leaves
  for undecodable bytes and which cannot be written as UTF-8 at all.

What remains after this rule is exactly what Python runs: its UTF-8 encoding decodes back
to the same text, and its line breaks are ``\\n`` or ``\\r\\n``. Line numbers in the messages count the
way CPython does (``\\r\\n``, ``\\r`` and ``\\n`` end a line; ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``,
``\\x85``, U+2028 and U+2029 do not, whatever ``str.splitlines`` says). This rule is not
configurable: the rules after it are only sound for the text it lets through.
"""

from __future__ import annotations

import bisect
import codecs
import re
import unicodedata

from theseus.change.policy.report import Change, Violation

RULE = "source-bytes"
CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)  # as PEP 263 reads it
PYTHON_BREAK = re.compile(r"\r\n|\r|\n")  # what CPython's tokenizer ends a line at
_CANDIDATES = re.compile(r"[^\t\n\x20-\x7e]")  # everything else is plain printable ASCII
_REFUSED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_CONTROL_NAMES = {
    0x00: "NULL",
    0x0B: "LINE TABULATION",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x1C: "FILE SEPARATOR",
    0x1D: "GROUP SEPARATOR",
    0x1E: "RECORD SEPARATOR",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
}
_BIDI = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})


class LineCounter:
    """Offsets -> line numbers as CPython reports them."""

    def __init__(self, text: str) -> None:
        self.starts = [match.start() for match in PYTHON_BREAK.finditer(text)]

    def line(self, offset: int) -> int:
        """The 1-based line holding ``offset`` (a line break belongs to the line it ends)."""
        return bisect.bisect_left(self.starts, offset) + 1


def python_lines(text: str) -> list[str]:
    """The lines CPython sees, without their breaks."""
    return PYTHON_BREAK.split(text)


def char_name(char: str) -> str:
    code = ord(char)
    return _CONTROL_NAMES.get(code) or unicodedata.name(char, "") or "control character"


def _problem(text: str, offset: int) -> tuple[str, str] | None:
    """(kind, message) for the character at ``offset`` when Python must not see it."""
    char = text[offset]
    code = ord(char)
    label = f"U+{code:04X} ({char_name(char)})"
    escape = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    if 0xD800 <= code <= 0xDFFF:
        if code >= 0xDC80 and code <= 0xDCFF:
            return "utf8", (
                f"byte 0x{code - 0xDC00:02X} is not valid UTF-8 (it reached the policy as "
                f"U+{code:04X}, a surrogate escape); save the file as UTF-8 text"
            )
        return "utf8", f"lone surrogate U+{code:04X} cannot be written as UTF-8; remove it"
    if code == 0x0D:
        if text.startswith("\r\n", offset):
            return None  # one line break to Python and to the diff alike
        return "cr", (
            f"a lone carriage return {label}: Python ends a line at \\r, so its line numbers "
            "differ from the diff's; use \\n (or \\r\\n) line endings"
        )
    if code == 0xFEFF and offset == 0:
        return "bom", f"a byte order mark {label}: save the file as UTF-8 without a BOM"
    category = unicodedata.category(char)
    if category not in _REFUSED:
        return None
    if code in _BIDI:
        why = "it reorders how the line is displayed (Trojan Source)"
    elif code == 0x0C:
        why = "Python resets the indentation count at it, so code can run in another block"
    elif category in ("Zl", "Zp") or code in (0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x85):
        why = "editors break the line there, Python does not"
    elif category == "Cf":
        why = "it is invisible"
    else:
        why = "Python source must not contain control characters"
    return f"c{code}", f"{label}: {why}; remove it (in a string, write it as {escape})"


def scan_text(text: str, *, python: bool = True) -> list[tuple[int, str]]:
    """(line, message) for every problem, one per kind with a count of the rest; for a
    file that is not Python (``python=False``) only what cannot be written as UTF-8."""
    counter = LineCounter(text)
    first: dict[str, tuple[int, str]] = {}
    counts: dict[str, int] = {}
    for match in _CANDIDATES.finditer(text):
        if not python and not 0xD800 <= ord(match.group()) <= 0xDFFF:
            continue
        problem = _problem(text, match.start())
        if problem is None:
            continue
        kind, message = problem
        counts[kind] = counts.get(kind, 0) + 1
        first.setdefault(kind, (counter.line(match.start()), message))
    found = []
    for kind, (line, message) in first.items():
        more = counts[kind] - 1
        found.append((line, message + (f" (and {more} more in this file)" if more else "")))
    if python:
        for number, line_text in enumerate(python_lines(text)[:2], start=1):
            declared = CODING.match(line_text)
            if declared and not _is_utf8(declared.group(1)):
                found.append(
                    (
                        number,
                        f"a coding declaration ({declared.group(1)!r}): Python would decode the "
                        "file with it, not as the UTF-8 the policy read; delete the line "
                        "(Python 3 source is UTF-8 without one)",
                    )
                )
    return sorted(found)


def _is_utf8(name: str) -> bool:
    try:
        return codecs.lookup(name).name == "utf-8"
    except LookupError:
        return False


def check_source_bytes(change: Change) -> list[Violation]:
    """Every changed file's new text must be exactly the Python that runs (module doc)."""
    found = []
    for path in change.paths:
        text = change.new(path)
        if text is None:
            continue
        for line, message in scan_text(text, python=path.endswith(".py")):
            found.append(Violation(RULE, message, path, line))
    return found
