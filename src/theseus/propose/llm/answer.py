"""Turn a model's text answer into a unified diff, or say why the answer is useless.

Models answer in prose with edits inside. The edits come in the two formats the prompt asks
for: search/replace blocks (:mod:`theseus.change.edits`) and whole-definition replacements
(``path::Qualified.name`` over a ``<<<<<<< DEFINITION`` ... ``>>>>>>> END`` block, applied
with :mod:`theseus.change.definitions`). The rest of the text is the rationale.

A model that cannot fix something often pretends to: it explains instead of editing, quotes
code that is not in the file, rewrites a line to itself, or hands back a stub ("rest of the
code unchanged", ``pass``, ``raise NotImplementedError``, a TODO). Such an answer must not
cost a sandbox run, and must be recorded as a lazy answer, so :func:`parse_answer` raises
:class:`AnswerRejected` with a ``kind`` and a one-line reason for each of these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from theseus import _pyast as pyast
from theseus.change.apply import patched_texts, read_text
from theseus.change.definitions import replace_definition, split_target
from theseus.change.diffs import make_diff
from theseus.change.edits import EditBlock, apply_block, parse_edits
from theseus.change.policy.placeholders import check_placeholders
from theseus.change.policy.report import Change
from theseus.config import Settings
from theseus.errors import PatchError, TheseusError
from theseus.paths import PathRules
from theseus.propose.llm.redact import Redactor

RejectKind = Literal[
    "prose_only",
    "malformed",
    "no_change",
    "search_not_found",
    "outside_mutable",
    "placeholder",
    "unparsable",
]

_DEFINITION = re.compile(r"^<{5,9} ?DEFINITION\s*$")
_END = re.compile(r"^>{5,9} ?END\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_EDIT_MARKER = re.compile(r"^(<{5,9} ?SEARCH|={5,9}|>{5,9} ?REPLACE)\s*$")
_LINE_NUMBER = re.compile(r"^[ >]?\s*\d+ \|(?: |$)")
_LAZY_COMMENT = re.compile(
    r"#.*\b(?:rest of (?:the )?(?:code|file|function|method|class|body|implementation)"
    r"|(?:code|function|file|body|logic|implementation|everything else)\s+"
    r"(?:remains?|stays?|is|left)\s+(?:the same|unchanged|as is)"
    r"|existing code|same as (?:before|above)|your code here|for brevity"
    r"|implement (?:this|me|here)|fill (?:this )?in)\b"
    r"|^\s*#\s*[(\[]?\s*(?:\.\.\.\s*)?unchanged\b",
    re.IGNORECASE,
)
_ELLIPSIS_LINE = re.compile(r"^\s*(?:#\s*)?(?:\.\.\.|…)\s*(?:#.*)?$")
_MARKER = re.compile(r"#.*\b(TODO|FIXME|XXX)\b")
_EXCERPT = 300

_Reject = Callable[[RejectKind, str], "AnswerRejected"]


class AnswerRejected(TheseusError):
    """An answer that gives no usable change; ``kind`` says which way it is lazy or broken."""

    def __init__(self, kind: RejectKind, reason: str, *, excerpt: str = "") -> None:
        super().__init__(reason)
        self.kind: RejectKind = kind
        self.reason = reason
        self.excerpt = excerpt


@dataclass(frozen=True)
class DefinitionBlock:
    """One whole-definition replacement; ``line`` is where its marker sits in the answer."""

    target: str
    source: str
    line: int


@dataclass(frozen=True)
class Answer:
    """A usable answer: the diff against the root, the model's explanation, what it changes."""

    diff: str
    rationale: str
    files: tuple[str, ...]


def parse_answer(
    text: str,
    root: Path,
    rules: PathRules,
    settings: Settings,
    *,
    redactor: Redactor | None = None,
) -> Answer:
    """The diff ``text`` asks for against the files under ``root``; AnswerRejected otherwise."""
    if redactor is not None:
        text = redactor.restore(text)
    excerpt = _clip(text.strip())

    def reject(kind: RejectKind, reason: str) -> AnswerRejected:
        return AnswerRejected(kind, reason, excerpt=excerpt)

    definitions, rest, prose = _split(text, reject)
    blocks = _edit_blocks(rest, reject)
    if not blocks and not definitions:
        if not text.strip():
            raise reject("prose_only", "the answer is empty")
        raise reject("prose_only", "the answer has no edit (prose only)")
    edits: list[EditBlock | DefinitionBlock] = sorted(
        [*blocks, *definitions], key=lambda edit: edit.line
    )
    for edit in edits:
        path = edit.path if isinstance(edit, EditBlock) else _target_path(edit, reject)
        if not rules.is_mutable(path):
            raise reject("outside_mutable", f"the answer edits {path}, which may not change")
        _check_added_text(edit, reject)
    new_texts = _apply(root, edits, reject)
    diff = make_diff(root, dict(new_texts))
    if not diff:
        raise reject("no_change", "the answer's edits change nothing")
    for path, new in new_texts.items():
        if path.endswith(".py"):
            try:
                pyast.parse(new, filename=path)
            except SyntaxError as exc:
                raise reject(
                    "unparsable",
                    f"{path} does not parse after the edit: line {exc.lineno}: {exc.msg}",
                ) from None
    _check_stubs(root, diff, settings, reject)
    files = tuple(sorted(path for path in new_texts if read_text(root, path) != new_texts[path]))
    return Answer(diff=diff, rationale=_rationale(prose), files=files)


def _clip(text: str, limit: int = _EXCERPT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _split(text: str, reject: _Reject) -> tuple[list[DefinitionBlock], str, list[str]]:
    """Definition blocks, the text left for search/replace parsing, and the prose lines."""
    lines = text.split("\n")
    definitions: list[DefinitionBlock] = []
    rest: list[str] = []
    prose: list[str] = []
    in_edit = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _DEFINITION.match(line):
            target_at = _previous_content(rest, len(rest) - 1)
            if target_at is None:
                raise reject(
                    "malformed",
                    f"answer line {i + 1}: DEFINITION block has no target line before it",
                )
            target = rest[target_at].strip().strip("`*").removesuffix(":").strip()
            if prose and prose[-1] == rest[target_at]:
                prose.pop()
            del rest[target_at:]
            end = next((j for j in range(i + 1, len(lines)) if _END.match(lines[j])), None)
            if end is None:
                raise reject(
                    "malformed", f"answer line {i + 1}: DEFINITION block has no '>>>>>>> END' line"
                )
            source = "\n".join(_strip_numbers(lines[i + 1 : end]))
            definitions.append(DefinitionBlock(target=target, source=source, line=len(rest)))
            i = end + 1
            continue
        if _EDIT_MARKER.match(line):
            if line.startswith("<"):  # the path line above it is not prose
                path_at = _previous_content(rest, len(rest) - 1)
                if path_at is not None and prose and prose[-1] == rest[path_at]:
                    prose.pop()
            in_edit = not line.startswith(">")
        elif not in_edit and not _FENCE.match(line):
            prose.append(line)
        rest.append(line)
        i += 1
    return definitions, "\n".join(rest), prose


def _previous_content(lines: list[str], index: int) -> int | None:
    while index >= 0:
        if lines[index].strip() and not _FENCE.match(lines[index]):
            return index
        index -= 1
    return None


def _strip_numbers(lines: list[str]) -> list[str]:
    """Lines without the ``  39 | `` prefixes the prompt's code listings have, when every
    non-empty line carries one (a model copying the listing verbatim)."""
    content = [line for line in lines if line.strip()]
    if content and all(_LINE_NUMBER.match(line) for line in content):
        return [_LINE_NUMBER.sub("", line) for line in lines]
    return lines


def _edit_blocks(text: str, reject: _Reject) -> list[EditBlock]:
    if not any(_EDIT_MARKER.match(line) for line in text.split("\n")):
        return []
    try:
        blocks = parse_edits(text)
    except PatchError as exc:
        raise reject("malformed", exc.line()) from None
    cleaned = []
    for block in blocks:
        search = block.search.split("\n")
        if any(_LINE_NUMBER.match(line) for line in search if line.strip()):
            block = EditBlock(
                path=block.path,
                search="\n".join(_strip_numbers(search)),
                replace="\n".join(_strip_numbers(block.replace.split("\n"))),
                line=block.line,
            )
        cleaned.append(block)
    return cleaned


def _target_path(edit: DefinitionBlock, reject: _Reject) -> str:
    try:
        return split_target(edit.target)[0]
    except PatchError as exc:
        raise reject("malformed", exc.line()) from None


def _added_lines(edit: EditBlock | DefinitionBlock) -> list[str]:
    if isinstance(edit, DefinitionBlock):
        return edit.source.split("\n")
    before = set(edit.search.split("\n"))
    return [line for line in edit.replace.split("\n") if line not in before]


def _check_added_text(edit: EditBlock | DefinitionBlock, reject: _Reject) -> None:
    """Placeholders visible in the text the edit adds, before anything is applied."""
    where = edit.target if isinstance(edit, DefinitionBlock) else edit.path
    for line in _added_lines(edit):
        if _LAZY_COMMENT.search(line):
            raise reject("placeholder", f"{where}: adds a placeholder comment {line.strip()!r}")
        if _ELLIPSIS_LINE.match(line) and line.strip():
            raise reject("placeholder", f"{where}: adds an elided line {line.strip()!r}")
        if _MARKER.search(line):
            raise reject("placeholder", f"{where}: adds a to-do comment {line.strip()!r}")
        if re.search(r"\braise\s+NotImplementedError\b", line):
            raise reject("placeholder", f"{where}: adds `raise NotImplementedError`")


def _apply(root: Path, edits: list[EditBlock | DefinitionBlock], reject: _Reject) -> dict[str, str]:
    texts: dict[str, str | None] = {}
    for number, edit in enumerate(edits, start=1):
        try:
            if isinstance(edit, EditBlock):
                if edit.path not in texts:
                    texts[edit.path] = read_text(root, edit.path)
                texts[edit.path] = apply_block(texts[edit.path], edit, number=number)
                continue
            path, qualname = split_target(edit.target)
            if path not in texts:
                texts[path] = read_text(root, path)
            current = texts[path]
            if current is None:
                raise reject("search_not_found", f"{edit.target}: file {path} does not exist")
            texts[path] = replace_definition(
                current, qualname, edit.source, where=f"definition {edit.target}"
            )
        except PatchError as exc:
            kind: RejectKind = "search_not_found"
            if "does not parse" in exc.message or "must be exactly one" in exc.message:
                kind = "unparsable"
            elif "defines" in exc.message or "empty SEARCH" in exc.message:
                kind = "malformed"
            raise reject(kind, exc.line()) from None
    return {path: text for path, text in texts.items() if text is not None}


def _check_stubs(root: Path, diff: str, settings: Settings, reject: _Reject) -> None:
    """The policy's placeholder rule (stub bodies, emptied functions), always on here."""
    strict = settings.model_copy(
        update={"policy": settings.policy.model_copy(update={"placeholders": True})}
    )
    violations = check_placeholders(Change(patched_texts(root, diff), strict, root))
    if violations:
        raise reject("placeholder", str(violations[0]))


def _rationale(prose: list[str]) -> str:
    """The model's explanation: its prose, labels such as ``Rationale:`` dropped."""
    label = re.compile(r"(?i)^\W*(rationale|explanation|root cause)\W*:\s*")
    words = [label.sub("", " ".join(line.split())) for line in prose if line.strip()]
    return _clip(" ".join(word for word in words if word), 600)
