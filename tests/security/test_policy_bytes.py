"""Attacks on the bytes the policy reads: each one makes the file Python runs differ from
the text the policy judged. Every attack is shown working (Python really runs the hidden
code, from the bytes ``apply_patch`` writes) and then shown rejected by ``source-bytes``.

Before that rule, the policy read every file as a ``str`` and parsed it with ``ast``; each
test names what the old policy said, so it fails without the protection.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tokenize
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from project_files import write

from theseus.change import PolicyReport, apply_patch, check_policy, make_diff
from theseus.change.patch import split_lines
from theseus.change.policy.source_bytes import RULE, LineCounter, scan_text
from theseus.config import Settings, parse_settings

SKILLS = "agent/skills.py"
BASE = "def refund(amount):\n    return amount * 100\n"
FILES = {
    "agent/__init__.py": "",
    SKILLS: BASE,
    "agent/core.py": "def handle(message, state):\n    return message\n",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(root, FILES)
    return root


def policy_settings(root: Path, **policy: object) -> Settings:
    return parse_settings(
        {
            "agent": {"package": "agent", "entrypoint": "agent.core:handle"},
            "paths": {"mutable": ["agent/**/*.py", "agent/*.txt"]},
            "policy": policy,
        },
        root=root,
    )


def check(root: Path, diff: str) -> PolicyReport:
    return check_policy(diff, policy_settings(root), root)


def run_applied(root: Path, diff: str, code: str, tmp_path: Path) -> str:
    """Apply ``diff`` to a copy of the project with the real writer, then run ``code``
    there in a fresh, isolated Python (no site, no environment) and return its stdout."""
    copy = tmp_path / "applied"
    shutil.copytree(root, copy)
    apply_patch(copy, diff)
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path.insert(0, {str(copy)!r})\n{code}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def byte_violations(report: PolicyReport) -> list[str]:
    return [str(v) for v in report.violations if v.rule == RULE]


# --- one test per bypass ----------------------------------------------------------------


def test_coding_declaration_utf7_hides_an_import(project: Path, tmp_path: Path) -> None:
    """``+AAo-`` is a newline in UTF-7: Python decodes the comment into ``import
    subprocess``; ``ast.parse`` of the str ignores the declaration and sees two comments.
    The old policy said ok."""
    text = "# coding: utf-7\n# +AAo-import subprocess\n" + BASE
    assert not any(isinstance(n, ast.Import) for n in ast.walk(ast.parse(text)))
    diff = make_diff(project, {SKILLS: text})
    ran = run_applied(
        project, diff, "import agent.skills; print('subprocess' in sys.modules)", tmp_path
    )
    assert ran == "True"  # the attack works: the host imported subprocess
    report = check(project, diff)
    assert not report.ok
    assert byte_violations(report) == [
        "agent/skills.py:1: [source-bytes] a coding declaration ('utf-7'): Python would decode "
        "the file with it, not as the UTF-8 the policy read; delete the line (Python 3 source "
        "is UTF-8 without one)"
    ]


@pytest.mark.parametrize(
    ("header", "line"),
    [
        ("#!/usr/bin/env python\n# vim: set fileencoding=latin-1 :\n", 2),
        ("\n# coding: utf-8-sig\n", 2),
        ("# coding: cp1252\n", 1),
    ],
)
def test_a_coding_declaration_of_another_codec_is_refused(
    project: Path, header: str, line: int
) -> None:
    """Even a UTF-8 variant: utf-8-sig decodes a BOM differently."""
    report = check(project, make_diff(project, {SKILLS: header + BASE}))
    assert [(v.rule, v.line) for v in report.violations] == [(RULE, line)]


@pytest.mark.parametrize(
    "header", ["# -*- coding: utf-8 -*-\n", "# coding=utf_8\n", "# coding: UTF8\n"]
)
def test_a_utf8_coding_declaration_changes_nothing_and_is_allowed(
    project: Path, header: str
) -> None:
    """Older projects carry one in every header; it names the codec the policy read with."""
    report = check(project, make_diff(project, {SKILLS: header + BASE}))
    assert report.ok, report.summary()


def test_byte_order_mark(project: Path, tmp_path: Path) -> None:
    """Python strips a BOM and runs the file; ``ast.parse`` of the str refuses it, so the two
    readings disagree. The old policy reported only ``parses``, not what was wrong."""
    text = "\ufeff" + BASE
    diff = make_diff(project, {SKILLS: text})
    code = "import agent.skills; print(agent.skills.refund(2))"
    assert run_applied(project, diff, code, tmp_path) == "200"
    with pytest.raises(SyntaxError):
        ast.parse(text)
    report = check(project, diff)
    assert report.rules == [RULE] and report.violations[0].line == 1
    assert (
        "U+FEFF" in report.violations[0].message and "without a BOM" in report.violations[0].message
    )


def test_lone_carriage_return_hides_a_line(project: Path, tmp_path: Path) -> None:
    """The diff, the editor and the policy's added-line numbers see one added comment line;
    Python ends the line at the lone \\r, so ``import subprocess`` is line 2 (an old,
    unchanged line to the policy). The old policy said ok."""
    text = "# a note\rimport subprocess\n" + BASE
    diff = make_diff(project, {SKILLS: text})
    assert len(split_lines(text)) == 3  # what the rules counted
    assert [n.lineno for n in ast.parse(text).body] == [2, 3]  # what Python counts
    ran = run_applied(
        project, diff, "import agent.skills; print('subprocess' in sys.modules)", tmp_path
    )
    assert ran == "True"
    report = check(project, diff)
    assert report.rules == [RULE]
    violation = report.violations[0]
    assert violation.line == 1 and "U+000D" in violation.message and "lone" in violation.message


def test_crlf_line_endings_are_one_line_break_and_allowed(project: Path) -> None:
    """Windows line endings: \\r\\n is one break to Python and to the diff alike."""
    report = check(project, make_diff(project, {SKILLS: BASE.replace("\n", "\r\n")}))
    assert report.ok, report.summary()


def test_a_lone_cr_in_a_crlf_file_is_still_refused(project: Path) -> None:
    text = BASE.replace("\n", "\r\n") + "# note\rimport subprocess\r\n"
    report = check(project, make_diff(project, {SKILLS: text}))
    assert report.rules == [RULE] and "lone" in report.violations[0].message


def test_form_feed_moves_a_statement_out_of_its_block(project: Path, tmp_path: Path) -> None:
    """A form feed in the indentation resets Python's column count: the assignment looks
    guarded by the ``if`` but runs on every call. The old policy said ok."""
    text = (
        "def refund(amount):\n"
        "    if amount < 0:\n"
        "        amount = 0\n"
        "    \x0c    amount = 0\n"
        "    return amount * 100\n"
    )
    function = ast.parse(text).body[0]
    assert isinstance(function, ast.FunctionDef)
    assert [type(s).__name__ for s in function.body] == ["If", "Assign", "Return"]
    diff = make_diff(project, {SKILLS: text})
    code = "import agent.skills; print(agent.skills.refund(5))"
    assert run_applied(project, diff, code, tmp_path) == "0"  # refunds nothing, ever
    report = check(project, diff)
    assert [(v.rule, v.line) for v in report.violations] == [(RULE, 4)]
    assert "U+000C (FORM FEED)" in report.violations[0].message


def test_bidi_override_trojan_source(project: Path, tmp_path: Path) -> None:
    """Trojan Source (CVE-2021-42574): the override and isolates make the line *display* as
    ``if kind != "user": # only admins``, while the string really compared holds the comment,
    so the branch is always taken. The old policy said ok."""
    text = (
        "def refund(amount):\n"
        '    kind = "user"\n'
        '    if kind != "user\u202e \u2066# only admins\u2069 \u2066":\n'
        "        return amount * 1000\n"
        "    return amount * 100\n"
    )
    diff = make_diff(project, {SKILLS: text})
    code = "import agent.skills; print(agent.skills.refund(1))"
    assert run_applied(project, diff, code, tmp_path) == "1000"
    report = check(project, diff)
    found = {(v.line, v.message.split(" ")[0]) for v in report.violations}
    assert found == {(3, "U+202E"), (3, "U+2066"), (3, "U+2069")}
    assert all(v.rule == RULE for v in report.violations)


def test_invalid_utf8_surrogate_escapes(project: Path) -> None:
    """A diff decoded with ``errors="surrogateescape"`` carries byte 0x80 as U+DC80. The old
    policy crashed with UnicodeEncodeError inside ``ast.parse`` (a traceback, not a report)
    and the writer could not have written it either."""
    clean = make_diff(project, {SKILLS: "MARK = 'Z'\n" + BASE, "agent/notes.txt": "Z\n"})
    diff = clean.encode().replace(b"Z", b"\x80").decode("utf-8", errors="surrogateescape")
    report = check(project, diff)
    assert {(v.rule, v.file, v.line) for v in report.violations} == {
        (RULE, SKILLS, 1),
        (RULE, "agent/notes.txt", 1),
    }
    assert all("byte 0x80 is not valid UTF-8" in v.message for v in report.violations)


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\x00", "NULL"),
        ("\x1b", "ESCAPE"),
        ("\x85", "NEXT LINE"),
        ("\u2028", "LINE SEPARATOR"),
        ("\u200b", "ZERO WIDTH SPACE"),
        ("\u061c", "ARABIC LETTER MARK"),
        ("\u200f", "RIGHT-TO-LEFT MARK"),
        ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"),
    ],
)
def test_control_and_invisible_characters(project: Path, char: str, name: str) -> None:
    """Named by code point and name, on the line Python gives, with the fix, in one line."""
    text = BASE + f"NOTE = 'a{char}b'\n"
    report = check(project, make_diff(project, {SKILLS: text}))
    assert report.rules == [RULE]
    (violation,) = report.violations
    assert violation.file == SKILLS and violation.line == 3
    assert f"U+{ord(char):04X} ({name})" in violation.message and "remove it" in violation.message
    assert "\n" not in str(violation)


def test_plain_utf8_python_passes(project: Path) -> None:
    text = "# Refunds, in cents — “smart quotes”, émojis 🎉 and tabs\tare fine.\n" + BASE
    assert check(project, make_diff(project, {SKILLS: text})).ok


# --- properties ---------------------------------------------------------------------------

BREAKS = st.sampled_from(["\n", "\r\n", "\r"])
NOT_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


@given(st.lists(BREAKS, min_size=1, max_size=12))
def test_line_numbers_are_cpythons(breaks: list[str]) -> None:
    """The counter agrees with CPython on every mix of \\n, \\r\\n and lone \\r."""
    text = "".join(f"x{i} = {i}{end}" for i, end in enumerate(breaks))
    counter = LineCounter(text)
    for i, statement in enumerate(ast.parse(text).body):
        assert counter.line(text.index(f"x{i} = ")) == statement.lineno


@given(st.integers(0, 8), st.sampled_from(NOT_BREAKS), st.integers(1, 9))
def test_splitlines_breaks_are_not_python_breaks(before: int, char: str, after: int) -> None:
    """A character ``str.splitlines`` breaks at but Python does not is reported on the
    line Python gives the statement it sits in."""
    lines = [f"x{i} = {i}\n" for i in range(before)]
    text = "".join(lines) + f"y = 1  # a{char}b\n" + "".join(f"z{i} = 0\n" for i in range(after))
    assert text.splitlines() != text.split("\n")[:-1]  # splitlines counts one more line
    parsed = ast.parse(text)
    target = next(s for s in parsed.body if isinstance(s, ast.Assign) and ast.unparse(s) == "y = 1")
    found = scan_text(text)
    assert [line for line, _ in found] == [target.lineno] == [before + 1]


REFUSED = st.sampled_from(
    ["\r", "\x00", "\x0c", "\x7f", "\x9b", "\ufeff", "\u202e", "\u2067", "\u200e", "\udc80"]
)


@given(st.text(max_size=60), REFUSED, st.data())
def test_every_refused_character_is_found(text: str, char: str, data: st.DataObject) -> None:
    where = data.draw(st.integers(0, len(text)))
    if char == "\r" and text[where:].startswith("\n"):
        return  # \r\n is one line break to Python and to the diff alike: allowed
    assert scan_text(text[:where] + char + text[where:])


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_what_passes_is_what_python_reads(text: str) -> None:
    """Whatever the rule lets through is one program: it encodes to UTF-8 and back
    unchanged, Python's encoding detection says plain UTF-8 without a BOM, and its only
    line break, for Python and for ``str.splitlines`` alike, is \\n."""
    if scan_text(text):
        return
    data = text.encode("utf-8")
    assert data.decode("utf-8") == text
    assert tokenize.detect_encoding(iter(data.splitlines(keepends=True)).__next__)[0] == "utf-8"
    assert not data.startswith(b"\xef\xbb\xbf")
    assert text.splitlines(keepends=True) == split_lines(text)
    assert all(
        unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp", "Cs")
        or c in "\t\n"
        or text.startswith("\r\n", i)
        for i, c in enumerate(text)
    )
