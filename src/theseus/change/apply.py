"""Apply a parsed unified diff to a folder, exactly, or compute the result in memory.

Every hunk's context and removed lines must match the file byte for byte. Like ``patch``,
a hunk whose context matches a few lines away from where its header says is applied there
and the offset is reported (files drift a little between a proposer reading them and the
candidate being applied); beyond ``max_offset`` lines it fails. A failure names the file,
the hunk and the first line that differs, so a rejected candidate records a usable reason.

The whole patch is computed before anything is written, so a patch that fails half way
leaves the folder untouched. :func:`patched_texts` never writes at all: policy uses it to
look at a candidate's result without running or applying anything.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from theseus.change.patch import FilePatch, Hunk, check_relpath, parse_patch, split_lines
from theseus.errors import PatchError

DEFAULT_MAX_OFFSET = 100


@dataclass(frozen=True)
class HunkOffset:
    """A hunk that applied away from the line its header named."""

    path: str
    hunk: int
    offset: int

    def __str__(self) -> str:
        lines = "line" if abs(self.offset) == 1 else "lines"
        return f"{self.path}: hunk {self.hunk} applied with offset {self.offset:+d} {lines}"


@dataclass(frozen=True)
class Patched:
    """The outcome of a patch in memory: the new text of every touched file (None when the
    file is deleted), the old text it replaced, and any offsets used."""

    texts: dict[str, str | None]
    old_texts: dict[str, str | None]
    patches: list[FilePatch]
    offsets: list[HunkOffset] = field(default_factory=list)
    modes: dict[str, int] = field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        return sorted(self.texts)


@dataclass(frozen=True)
class ApplyResult:
    """What :func:`apply_patch` changed on disk."""

    files: list[str]
    offsets: list[HunkOffset]


def safe_path(root: Path, relpath: str) -> Path:
    """``root/relpath``, refusing paths (or symlinked folders) that lead outside root."""
    rel = check_relpath(relpath)
    base = root.resolve()
    target = base / rel
    try:
        target.resolve().relative_to(base)
    except ValueError:
        raise PatchError(
            f"{relpath}: resolves outside the project root (through a symlink)",
            hint="candidates may only change files inside the project",
        ) from None
    return target


def read_text(root: Path, relpath: str) -> str | None:
    """The UTF-8 text of a project file, or None when it does not exist."""
    target = safe_path(root, relpath)
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise PatchError(f"{relpath}: is a folder, not a file") from None
    except OSError as exc:
        raise PatchError(f"{relpath}: cannot read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PatchError(
            f"{relpath}: is not UTF-8 text", hint="candidates may change text files only"
        ) from None


def patched_texts(
    root: Path, diff: str | list[FilePatch], *, max_offset: int = DEFAULT_MAX_OFFSET
) -> Patched:
    """Compute every file's text after the patch, without writing anything."""
    patches = parse_patch(diff) if isinstance(diff, str) else diff
    state: dict[str, str | None] = {}
    old_texts: dict[str, str | None] = {}
    offsets: list[HunkOffset] = []
    modes: dict[str, int] = {}

    def current(path: str) -> str | None:
        if path not in state:
            old_texts[path] = state[path] = read_text(root, path)
        return state[path]

    for patch in patches:
        if patch.is_new:
            if current(patch.path) is not None:
                raise PatchError(
                    f"{patch.path}: the patch creates it but it already exists",
                    hint="regenerate the diff against the candidate's base commit",
                )
            old = ""
        else:
            assert patch.old_path is not None
            existing = current(patch.old_path)
            if existing is None:
                raise PatchError(
                    f"{patch.old_path}: the patch changes it but it does not exist",
                    hint="regenerate the diff against the candidate's base commit",
                )
            old = existing
        new = _apply_hunks(patch, old, max_offset, offsets)
        if patch.is_deleted:
            if new:
                raise PatchError(
                    f"{patch.path}: the patch deletes it but does not remove all its lines"
                )
            state[patch.path] = None
            continue
        assert patch.new_path is not None
        if patch.is_rename:
            assert patch.old_path is not None
            if current(patch.new_path) is not None:
                raise PatchError(f"{patch.new_path}: rename target already exists")
            state[patch.old_path] = None
        current(patch.new_path)
        state[patch.new_path] = new
        if patch.new_mode:
            modes[patch.new_path] = int(patch.new_mode, 8) & 0o777
    changed = {path: text for path, text in state.items() if text != old_texts.get(path)}
    return Patched(
        texts=changed,
        old_texts={path: old_texts.get(path) for path in changed},
        patches=patches,
        offsets=offsets,
        modes=modes,
    )


def apply_patch(
    root: Path, diff: str | list[FilePatch], *, max_offset: int = DEFAULT_MAX_OFFSET
) -> ApplyResult:
    """Apply a unified diff to the folder ``root``; all or nothing, each file atomically."""
    result = patched_texts(root, diff, max_offset=max_offset)
    write_texts(root, result.texts, modes=result.modes)
    return ApplyResult(files=result.files, offsets=result.offsets)


def write_texts(
    root: Path, texts: Mapping[str, str | None], *, modes: Mapping[str, int] | None = None
) -> None:
    """Write (or delete, for None) whole files under root, each with temp file + rename."""
    targets = {path: safe_path(root, path) for path in texts}
    for path, text in texts.items():
        target = targets[path]
        if text is None:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = (modes or {}).get(path)
        if mode is None:
            mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _apply_hunks(patch: FilePatch, text: str, max_offset: int, offsets: list[HunkOffset]) -> str:
    lines = split_lines(text)
    out: list[str] = []
    floor = 0  # first original line the next hunk may touch
    drift = 0  # offset carried from earlier hunks, as `patch` does
    for index, hunk in enumerate(patch.hunks, start=1):
        old = hunk.old_lines
        base = hunk.old_start - 1 if hunk.old_count else hunk.old_start
        expected = max(base + drift, 0)
        position = _locate(lines, old, expected, floor, max_offset)
        if position is None:
            raise PatchError(_mismatch(patch.path, index, hunk, lines, old, max(expected, floor)))
        if position != base:
            offsets.append(HunkOffset(patch.path, index, position - base))
        drift = position - base
        out.extend(lines[floor:position])
        out.extend(hunk.new_lines)
        floor = position + len(old)
    out.extend(lines[floor:])
    return "".join(out)


def _locate(
    lines: list[str], old: list[str], expected: int, floor: int, max_offset: int
) -> int | None:
    """The start nearest to ``expected`` (not before ``floor``) where ``old`` matches."""
    limit = len(lines) - len(old)
    if not old:
        return expected if floor <= expected <= len(lines) else None
    for distance in range(max_offset + 1):
        for position in (expected - distance, expected + distance) if distance else (expected,):
            if floor <= position <= limit and lines[position : position + len(old)] == old:
                return position
    return None


def _mismatch(path: str, index: int, hunk: Hunk, lines: list[str], old: list[str], at: int) -> str:
    where = f"{path}: hunk {index} ({hunk.header}) does not apply"
    if not old:
        return f"{where}: the file has only {len(lines)} lines"
    for offset, wanted in enumerate(old):
        line_no = at + offset + 1
        if at + offset >= len(lines):
            return f"{where}: expected {wanted!r} at line {line_no} but the file ends at line {len(lines)}"
        if lines[at + offset] != wanted:
            return (
                f"{where}: line {line_no} is {lines[at + offset]!r}, the patch expects {wanted!r}"
            )
    return f"{where}: its context matches only before an earlier hunk"
