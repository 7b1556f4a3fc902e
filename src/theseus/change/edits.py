"""Search/replace blocks, the edit format LLMs produce most reliably::

    pkg/skills/refund.py
    <<<<<<< SEARCH
        return amount * 100
    =======
        return round(amount * 100)
    >>>>>>> REPLACE

A block applies only when its SEARCH text occurs exactly once in the file: an ambiguous or
absent match is an error naming the block and the file, never a guess. The one tolerance is
leading indentation (models often re-indent a snippet they quote): when no exact match exists,
a block whose lines match after a uniform indentation shift is applied with its REPLACE text
shifted the same way. An empty SEARCH block creates a new file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from theseus.change.apply import read_text
from theseus.change.diffs import make_diff
from theseus.change.patch import check_relpath, split_lines
from theseus.errors import PatchError

_SEARCH = re.compile(r"^<{5,9} ?SEARCH\s*$")
_DIVIDER = re.compile(r"^={5,9}\s*$")
_REPLACE = re.compile(r"^>{5,9} ?REPLACE\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class EditBlock:
    """One SEARCH/REPLACE block; ``line`` is where its SEARCH marker sits in the input."""

    path: str
    search: str
    replace: str
    line: int = 0


def parse_edits(text: str) -> list[EditBlock]:
    """Every block in ``text``; prose and code fences around them are ignored."""
    lines = text.split("\n")
    blocks: list[EditBlock] = []
    i = 0
    while i < len(lines):
        if not _SEARCH.match(lines[i]):
            if _DIVIDER.match(lines[i]) or _REPLACE.match(lines[i]):
                raise PatchError(
                    f"edit line {i + 1}: {lines[i].strip()!r} without a '<<<<<<< SEARCH' before it"
                )
            i += 1
            continue
        start = i
        path = _path_before(lines, start)
        divider = _find(lines, start + 1, _DIVIDER, "=======", start)
        end = _find(lines, divider + 1, _REPLACE, ">>>>>>> REPLACE", start)
        search = _join(lines[start + 1 : divider])
        replace = _join(lines[divider + 1 : end])
        blocks.append(EditBlock(path=path, search=search, replace=replace, line=start + 1))
        i = end + 1
    if not blocks:
        raise PatchError(
            "no SEARCH/REPLACE blocks found",
            hint="write a file path line, then <<<<<<< SEARCH, old text, =======, new text, >>>>>>> REPLACE",
        )
    return blocks


def _join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _find(lines: list[str], start: int, marker: re.Pattern[str], name: str, block: int) -> int:
    for index in range(start, len(lines)):
        if _SEARCH.match(lines[index]):
            break
        if marker.match(lines[index]):
            return index
    raise PatchError(
        f"edit line {block + 1}: SEARCH block has no {name!r} line after it",
        hint="close every block with ======= and >>>>>>> REPLACE",
    )


def _path_before(lines: list[str], start: int) -> str:
    for index in range(start - 1, -1, -1):
        candidate = lines[index].strip()
        if not candidate or _FENCE.match(candidate):
            continue
        candidate = candidate.strip("`*").removesuffix(":").strip()
        return check_relpath(candidate, where=f"edit line {start + 1}")
    raise PatchError(
        f"edit line {start + 1}: SEARCH block has no file path line before it",
        hint="put the file's path (relative to the project root) on the line above",
    )


def apply_edits(root: Path, edits: str | list[EditBlock]) -> dict[str, str]:
    """The new text of every file the blocks change, computed in memory (nothing written)."""
    blocks = parse_edits(edits) if isinstance(edits, str) else edits
    texts: dict[str, str | None] = {}
    for number, block in enumerate(blocks, start=1):
        path = check_relpath(block.path, where=f"edit block {number}")
        if path not in texts:
            texts[path] = read_text(root, path)
        texts[path] = apply_block(texts[path], block, number=number)
    return {path: text for path, text in texts.items() if text is not None}


def edits_to_diff(root: Path, edits: str | list[EditBlock]) -> str:
    """A unified diff equivalent to applying the blocks to the files under ``root``."""
    new_texts: Mapping[str, str | None] = apply_edits(root, edits)
    return make_diff(root, new_texts)


def apply_block(text: str | None, block: EditBlock, *, number: int = 1) -> str:
    """``text`` with the block applied; PatchError when it is absent, ambiguous or malformed."""
    where = f"edit block {number} (line {block.line}) for {block.path}"
    if not block.search.strip():
        if text is None or not text.strip():
            return block.replace
        raise PatchError(
            f"{where}: empty SEARCH but the file already exists",
            hint="quote the lines to replace in SEARCH; empty SEARCH only creates files",
        )
    if text is None:
        raise PatchError(f"{where}: the file does not exist", hint="check the path")
    count = text.count(block.search)
    if count == 1:
        return text.replace(block.search, block.replace, 1)
    if count > 1:
        raise PatchError(
            f"{where}: SEARCH text matches {count} places (lines {_match_lines(text, block.search)})",
            hint="include more surrounding lines so it matches exactly one place",
        )
    return _reindented(text, block, where)


def _match_lines(text: str, search: str) -> str:
    starts = [m.start() for m in re.finditer(re.escape(search), text)]
    return ", ".join(str(text.count("\n", 0, s) + 1) for s in starts[:5])


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _reindented(text: str, block: EditBlock, where: str) -> str:
    """Match lines ignoring a uniform indentation shift; re-indent REPLACE the same way."""
    file_lines = split_lines(text)
    search = [line.rstrip("\n") for line in split_lines(block.search)]
    while search and not search[-1].strip():
        search.pop()
    matches: list[tuple[int, str, str]] = []
    for start in range(len(file_lines) - len(search) + 1):
        shift = _shift(file_lines[start : start + len(search)], search)
        if shift is not None:
            matches.append((start, *shift))
    if not matches:
        raise PatchError(
            f"{where}: SEARCH text not found in the file",
            hint="SEARCH must quote the current file exactly (only indentation may differ)",
        )
    if len(matches) > 1:
        lines = ", ".join(str(start + 1) for start, _, _ in matches[:5])
        raise PatchError(
            f"{where}: SEARCH text matches {len(matches)} places after re-indenting (lines {lines})",
            hint="include more surrounding lines so it matches exactly one place",
        )
    start, add, remove = matches[0]
    replaced = []
    for line in split_lines(block.replace):
        if line.strip():
            line = add + line[len(remove) :] if line.startswith(remove) else add + line
        replaced.append(line)
    tail = file_lines[start + len(search) - 1]
    if replaced and not tail.endswith("\n") and replaced[-1].endswith("\n"):
        replaced[-1] = replaced[-1][:-1]  # the file's last line had no newline: keep it so
    return "".join([*file_lines[:start], *replaced, *file_lines[start + len(search) :]])


def _shift(window: list[str], search: list[str]) -> tuple[str, str] | None:
    """(added, removed) indentation turning ``search`` into ``window``, if uniform."""
    shift: tuple[str, str] | None = None
    for have_raw, want in zip(window, search, strict=True):
        have = have_raw.rstrip("\n")
        if not want.strip():
            if have.strip():
                return None
            continue
        if have.lstrip(" \t") != want.lstrip(" \t"):
            return None
        have_indent, want_indent = _indent(have), _indent(want)
        if have_indent.endswith(want_indent):
            this = (have_indent[: len(have_indent) - len(want_indent)], "")
        elif want_indent.endswith(have_indent):
            this = ("", want_indent[: len(want_indent) - len(have_indent)])
        else:
            return None
        if shift is None:
            shift = this
        elif shift != this:
            return None
    return shift
