"""Unified diffs as typed objects: the one change format every later stage reads.

Proposers hand in diffs in many dialects (``git diff``, plain ``diff -u``, hand-edited LLM
output), so the parser accepts the common shapes but is strict about what matters for a
safe apply: hunk line counts must agree with the hunk header, and every path must stay
inside the project. Anything else becomes a :class:`~theseus.errors.PatchError` naming the
diff line, so a rejected candidate records *why* it was rejected.

Lines are split on ``\\n`` only (never on ``\\r`` or other Unicode separators) and each
hunk line keeps its terminator, so "no newline at end of file" and CRLF files survive a
round trip byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from theseus.errors import PatchError

DEV_NULL = "/dev/null"
NO_NEWLINE = "\\ No newline at end of file"
_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_GIT_HEADER_RE = re.compile(r"^diff --git (\"(?:[^\"\\]|\\.)*\"|\S+) (\"(?:[^\"\\]|\\.)*\"|\S+)$")
_C_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f"}


@dataclass(frozen=True)
class Hunk:
    """One ``@@`` block. ``lines`` are (op, text) with op in ' ', '-', '+'; text keeps its
    ``\\n`` unless the diff marked the line "No newline at end of file"."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: tuple[tuple[str, str], ...]
    section: str = ""
    diff_line: int = 0

    @property
    def old_lines(self) -> list[str]:
        return [text for op, text in self.lines if op != "+"]

    @property
    def new_lines(self) -> list[str]:
        return [text for op, text in self.lines if op != "-"]

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"

    @property
    def added(self) -> int:
        return sum(1 for op, _ in self.lines if op == "+")

    @property
    def removed(self) -> int:
        return sum(1 for op, _ in self.lines if op == "-")


@dataclass(frozen=True)
class FilePatch:
    """The change to one file. ``old_path`` is None for a new file, ``new_path`` None for a
    deleted one; both are POSIX paths relative to the project root."""

    old_path: str | None
    new_path: str | None
    hunks: tuple[Hunk, ...] = ()
    new_mode: str | None = None
    diff_line: int = 0

    @property
    def path(self) -> str:
        """The path the change is about: the new path, or the old one for a deletion."""
        path = self.new_path or self.old_path
        assert path is not None  # the parser never builds a patch with neither
        return path

    @property
    def is_new(self) -> bool:
        return self.old_path is None

    @property
    def is_deleted(self) -> bool:
        return self.new_path is None

    @property
    def is_rename(self) -> bool:
        return (
            self.old_path is not None
            and self.new_path is not None
            and (self.old_path != self.new_path)
        )

    @property
    def added(self) -> int:
        return sum(h.added for h in self.hunks)

    @property
    def removed(self) -> int:
        return sum(h.removed for h in self.hunks)


@dataclass
class _Section:
    """A file section while it is being parsed."""

    line: int
    git_paths: tuple[str, str] | None = None
    old: str | None = None
    new: str | None = None
    saw_minus: bool = False
    saw_plus: bool = False
    new_file: bool = False
    deleted: bool = False
    rename_from: str | None = None
    rename_to: str | None = None
    mode: str | None = None
    hunks: list[Hunk] = field(default_factory=list)


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` with their ``\\n`` kept; split on ``\\n`` only."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def check_relpath(path: str, *, where: str = "patch") -> str:
    """A normalised POSIX relative path, or PatchError when it could escape the root."""
    if not path or "\0" in path:
        raise PatchError(f"{where}: empty or invalid file path {path!r}")
    posix = PurePosixPath(path)
    if posix.is_absolute() or path.startswith("~"):
        raise PatchError(
            f"{where}: absolute path {path!r} is not allowed",
            hint="paths must be relative to the project root, like a/pkg/mod.py",
        )
    if ".." in posix.parts:
        raise PatchError(f"{where}: path {path!r} escapes the project root with '..'")
    if posix.parts and posix.parts[0] == ".git":
        raise PatchError(f"{where}: path {path!r} is inside .git; candidates may not touch it")
    normal = posix.as_posix()
    if normal in (".", ""):
        raise PatchError(f"{where}: path {path!r} names the root folder, not a file")
    return normal


def _unquote(token: str) -> str:
    if not (len(token) >= 2 and token[0] == '"' and token[-1] == '"'):
        return token
    raw = token[1:-1]
    out = bytearray()
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if re.fullmatch(r"[0-7]{3}", raw[i + 1 : i + 4]):
                out.append(int(raw[i + 1 : i + 4], 8))
                i += 4
                continue
            out += _C_ESCAPES.get(nxt, nxt).encode()
            i += 2
            continue
        out += ch.encode()
        i += 1
    return out.decode("utf-8", errors="surrogateescape")


def _header_path(rest: str) -> str | None:
    """The path of a ``---``/``+++`` line: drops a tab-separated timestamp, keeps /dev/null."""
    rest = rest.rstrip("\n").rstrip("\r")
    if rest.startswith('"'):
        end = re.match(r"\"(?:[^\"\\]|\\.)*\"", rest)
        token = _unquote(end.group(0)) if end else rest
    else:
        token = rest.split("\t", 1)[0].rstrip(" ")
    return None if token == DEV_NULL else token


def _strip_prefix(path: str | None, prefix: str, strip: bool) -> str | None:
    if path is None or not strip:
        return path
    return path[len(prefix) :] if path.startswith(prefix) else path


def parse_patch(diff: str) -> list[FilePatch]:
    """Parse a unified diff (git or plain) into one :class:`FilePatch` per file.

    Text before the first file header (a commit message, an LLM's explanation) is ignored;
    everything after it must be well formed.
    """
    lines = split_lines(diff)
    sections: list[_Section] = []
    current: _Section | None = None
    i = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.rstrip("\n")
        number = i + 1
        if line.startswith("diff --git "):
            match = _GIT_HEADER_RE.match(line.rstrip("\r"))
            current = _Section(line=number)
            if match:
                current.git_paths = (_unquote(match.group(1)), _unquote(match.group(2)))
            sections.append(current)
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            if current is None or current.saw_minus or current.hunks:
                current = _Section(line=number)
                sections.append(current)
            current.old, current.saw_minus = _header_path(line[4:]), True
            current.new, current.saw_plus = _header_path(lines[i + 1][4:]), True
            i += 1
        elif line.startswith("@@"):
            if current is None or not (current.saw_minus and current.saw_plus):
                raise PatchError(
                    f"diff line {number}: hunk {line!r} comes before any '---'/'+++' file header",
                    hint="each file's hunks must follow its --- a/path and +++ b/path lines",
                )
            hunk, i = _parse_hunk(lines, i, len(current.hunks) + 1, current)
            current.hunks.append(hunk)
            continue
        elif current is not None:
            _extended_header(current, line, number)
        i += 1
    patches = [_finish(section) for section in sections]
    if not patches:
        raise PatchError(
            "no file changes found in the patch",
            hint="expected a unified diff with '--- a/path' / '+++ b/path' headers",
        )
    return patches


def _extended_header(section: _Section, line: str, number: int) -> None:
    if section.hunks:
        if line.startswith(("+", "-", " ")) and line != "-- ":
            raise PatchError(
                f"diff line {number}: {line[:60]!r} lies outside any hunk",
                hint="the hunk header's line counts are probably wrong; recount them",
            )
        return
    if line.startswith("new file mode "):
        section.new_file, section.mode = True, line.split()[-1]
    elif line.startswith("deleted file mode "):
        section.deleted = True
    elif line.startswith("new mode "):
        section.mode = line.split()[-1]
    elif line.startswith("rename from "):
        section.rename_from = _unquote(line[len("rename from ") :])
    elif line.startswith("rename to "):
        section.rename_to = _unquote(line[len("rename to ") :])
    elif line.startswith(("Binary files ", "GIT binary patch")):
        raise PatchError(
            f"diff line {number}: binary patches are not supported",
            hint="candidates may change text files only",
        )


def _finish(section: _Section) -> FilePatch:
    where = f"diff line {section.line}"
    strip = (section.old is None or section.old.startswith("a/")) and (
        section.new is None or section.new.startswith("b/")
    )
    old = _strip_prefix(section.old, "a/", strip)
    new = _strip_prefix(section.new, "b/", strip)
    if not section.saw_minus:
        if section.git_paths is None:
            raise PatchError(f"{where}: file header without paths")
        a_path = _strip_prefix(section.git_paths[0], "a/", True)
        b_path = _strip_prefix(section.git_paths[1], "b/", True)
        old = None if section.new_file else section.rename_from or a_path
        new = None if section.deleted else section.rename_to or b_path
    elif section.rename_from and section.rename_to:
        old, new = section.rename_from, section.rename_to
    if old is None and new is None:
        raise PatchError(f"{where}: both sides of the file header are /dev/null")
    old = None if old is None else check_relpath(old, where=where)
    new = None if new is None else check_relpath(new, where=where)
    return FilePatch(
        old_path=old,
        new_path=new,
        hunks=tuple(section.hunks),
        new_mode=section.mode,
        diff_line=section.line,
    )


def _parse_hunk(lines: list[str], i: int, index: int, section: _Section) -> tuple[Hunk, int]:
    header = lines[i].rstrip("\n").rstrip("\r")
    number = i + 1
    match = _HUNK_RE.match(header)
    name = section.new or section.old or "?"
    if not match:
        raise PatchError(
            f"diff line {number}: malformed hunk header {header!r} (hunk {index} of {name})",
            hint="expected '@@ -START,COUNT +START,COUNT @@'",
        )
    old_start, new_start = int(match.group(1)), int(match.group(3))
    old_count = 1 if match.group(2) is None else int(match.group(2))
    new_count = 1 if match.group(4) is None else int(match.group(4))
    old_left, new_left = old_count, new_count
    body: list[tuple[str, str]] = []
    i += 1
    while i < len(lines) and (old_left > 0 or new_left > 0 or lines[i].startswith("\\")):
        raw = lines[i]
        if raw.startswith("\\"):
            if body:
                op, text = body[-1]
                body[-1] = (op, text[:-1] if text.endswith("\n") else text)
            i += 1
            continue
        op = raw[:1]
        text = raw[1:]
        if raw in ("\n", "\r\n"):  # a context line whose leading space an editor stripped
            op, text = " ", raw
        if (
            op not in (" ", "-", "+")
            or (op == "-" and old_left == 0)
            or (op == "+" and new_left == 0)
            or (op == " " and (old_left == 0 or new_left == 0))
        ):
            break
        body.append((op, text))
        old_left -= op != "+"
        new_left -= op != "-"
        i += 1
    if old_left or new_left:
        raise PatchError(
            f"diff line {number}: hunk {index} of {name} ({header}) promises "
            f"{old_count} old/{new_count} new lines but has "
            f"{old_count - old_left}/{new_count - new_left}",
            hint="recount the hunk's lines or regenerate the diff",
        )
    hunk = Hunk(
        old_start=old_start,
        old_count=old_count,
        new_start=new_start,
        new_count=new_count,
        lines=tuple(body),
        section=match.group(5).strip(),
        diff_line=number,
    )
    return hunk, i


def changed_files(diff: str) -> list[str]:
    """Every path a diff touches (both sides of a rename), sorted and de-duplicated."""
    paths: set[str] = set()
    for patch in parse_patch(diff):
        paths.update(p for p in (patch.old_path, patch.new_path) if p is not None)
    return sorted(paths)


def changed_line_count(diff: str) -> int:
    """Added plus removed lines: the size measure policy limits."""
    return sum(p.added + p.removed for p in parse_patch(diff))
