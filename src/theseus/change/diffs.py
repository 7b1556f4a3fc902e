"""Produce git-style unified diffs from whole-file texts.

Proposers think in files ("here is the new text of skills/refund.py"); every later stage
thinks in diffs. :func:`make_diff` is the bridge, and its output is what ``git apply`` and
:func:`theseus.change.apply.apply_patch` both accept, including new, deleted and empty
files and a last line without a newline.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

from theseus.change.apply import read_text, safe_path
from theseus.change.patch import NO_NEWLINE, check_relpath, split_lines

CONTEXT_LINES = 3
_QUOTE_ESCAPES = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n"}


def make_diff(root: Path, new_texts: Mapping[str, str | None]) -> str:
    """A diff that turns the files under ``root`` into ``new_texts`` (None deletes a file).

    Paths are relative to root; files whose text does not change are left out.
    """
    old_texts = {path: read_text(root, path) for path in new_texts}
    modes = {}
    for path, old in old_texts.items():
        if old is not None:
            executable = safe_path(root, path).stat().st_mode & 0o111
            modes[path] = "100755" if executable else "100644"
    return diff_texts(old_texts, new_texts, modes=modes)


def diff_texts(
    old_texts: Mapping[str, str | None],
    new_texts: Mapping[str, str | None],
    *,
    modes: Mapping[str, str] | None = None,
    context: int = CONTEXT_LINES,
) -> str:
    """A git-style diff between two sets of whole-file texts (None: the file is absent)."""
    chunks: list[str] = []
    for path in sorted(set(old_texts) | set(new_texts)):
        check_relpath(path, where="make_diff")
        old, new = old_texts.get(path), new_texts.get(path)
        if old == new:
            continue
        mode = (modes or {}).get(path, "100644")
        chunks.append(_file_diff(path, old, new, mode, context))
    return "".join(chunks)


def _quote(path: str) -> str:
    if not any(ch in _QUOTE_ESCAPES or ch == " " or ord(ch) > 127 for ch in path):
        return path
    return '"' + "".join(_QUOTE_ESCAPES.get(ch, ch) for ch in path) + '"'


def _side(prefix: str, path: str) -> str:
    return _quote(prefix + path)


def _file_diff(path: str, old: str | None, new: str | None, mode: str, context: int) -> str:
    out = [f"diff --git {_side('a/', path)} {_side('b/', path)}\n"]
    if old is None:
        out.append(f"new file mode {mode}\n")
    elif new is None:
        out.append(f"deleted file mode {mode}\n")
    old_lines, new_lines = split_lines(old or ""), split_lines(new or "")
    if not old_lines and not new_lines:
        return "".join(out)  # an empty file created or deleted: git writes no hunk either
    out.append(f"--- {'/dev/null' if old is None else _side('a/', path)}\n")
    out.append(f"+++ {'/dev/null' if new is None else _side('b/', path)}\n")
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        old_range = _range(first[1], last[2])
        new_range = _range(first[3], last[4])
        out.append(f"@@ -{old_range} +{new_range} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(_lines(" ", old_lines[i1:i2]))
                continue
            out.extend(_lines("-", old_lines[i1:i2]))
            out.extend(_lines("+", new_lines[j1:j2]))
    return "".join(out)


def _range(start: int, stop: int) -> str:
    length = stop - start
    beginning = start + 1 if length else start
    return str(beginning) if length == 1 else f"{beginning},{length}"


def _lines(prefix: str, lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if line.endswith("\n"):
            out.append(prefix + line)
        else:
            out.append(f"{prefix}{line}\n{NO_NEWLINE}\n")
    return out
