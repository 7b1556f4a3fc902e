"""Whole-definition replacement: ``pkg/mod.py::Class.method`` gets new source.

A proposer that rewrites one function should not have to reproduce the rest of the file,
and must not disturb it: libcst keeps every other byte (comments, blank lines, quoting
style) as it was. The new source is dedented, must parse, and must define exactly the
name it replaces, so a model that "fixes" ``refund`` by writing ``refund_v2`` is told so.
Nested targets use dots (``outer.inner``); Python's ``<locals>`` segments are accepted.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from theseus.change.apply import read_text
from theseus.change.diffs import make_diff
from theseus.change.patch import check_relpath
from theseus.errors import PatchError

Definition = cst.FunctionDef | cst.ClassDef


@dataclass(frozen=True)
class DefinitionEdit:
    """Replace the definition named ``target`` (``path::Qualified.name``) with ``source``."""

    target: str
    source: str

    @property
    def path(self) -> str:
        return split_target(self.target)[0]

    @property
    def qualname(self) -> str:
        return split_target(self.target)[1]


def split_target(target: str) -> tuple[str, str]:
    """``"pkg/mod.py::A.b"`` -> ``("pkg/mod.py", "A.b")``, checking both halves."""
    path, sep, qualname = target.partition("::")
    parts = [p for p in qualname.split(".") if p != "<locals>"]
    if not sep or not path or not qualname or not all(p.isidentifier() for p in parts):
        raise PatchError(
            f"definition target {target!r} is not of the form 'path/to/file.py::Qualified.name'"
        )
    return check_relpath(path, where=f"definition target {target!r}"), ".".join(parts)


class _Collector(cst.CSTVisitor):
    """Finds the definitions whose dotted qualname equals ``wanted``; lists all names."""

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted
        self.stack: list[str] = []
        self.found: list[Definition] = []
        self.names: list[str] = []

    def _enter(self, node: Definition) -> bool:
        self.stack.append(node.name.value)
        qualname = ".".join(self.stack)
        self.names.append(qualname)
        if qualname == self.wanted:
            self.found.append(node)
        return True

    def _leave(self) -> None:
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return self._enter(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._leave()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self._enter(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._leave()


class _Replacer(cst.CSTTransformer):
    def __init__(self, target: Definition, replacement: Definition) -> None:
        self.target = target
        self.replacement = replacement

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.BaseStatement:
        return self._swap(original_node, updated_node)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.BaseStatement:
        return self._swap(original_node, updated_node)

    def _swap(self, original: Definition, updated: Definition) -> cst.BaseStatement:
        if original is not self.target:
            return updated
        # Blank lines and comments above the old definition stay; the new one's own
        # leading comments follow them.
        leading = [*original.leading_lines, *self.replacement.leading_lines]
        return self.replacement.with_changes(leading_lines=leading)


def parse_definition(source: str, name: str, where: str) -> Definition:
    """The single function or class ``source`` defines; PatchError otherwise."""
    try:
        module = cst.parse_module(textwrap.dedent(source).strip("\n") + "\n")
    except cst.ParserSyntaxError as exc:
        raise PatchError(
            f"{where}: new source does not parse: line {exc.raw_line}: {exc.message}"
        ) from None
    statements = list(module.body)
    if len(statements) != 1 or not isinstance(statements[0], cst.FunctionDef | cst.ClassDef):
        raise PatchError(
            f"{where}: new source must be exactly one def or class, found {len(statements)} statements",
            hint="send only the replacement definition (helpers go in a separate edit)",
        )
    definition = statements[0]
    if definition.name.value != name:
        raise PatchError(
            f"{where}: new source defines {definition.name.value!r}, not {name!r}",
            hint="keep the definition's name; add new names with a separate edit",
        )
    return definition


def replace_definition(text: str, qualname: str, source: str, *, where: str = "") -> str:
    """``text`` (a module's source) with the definition ``qualname`` replaced by ``source``."""
    qualname = ".".join(part for part in qualname.split(".") if part != "<locals>")
    where = where or qualname
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise PatchError(f"{where}: the current file does not parse: line {exc.raw_line}") from None
    collector = _Collector(qualname)
    module.visit(collector)
    if not collector.found:
        known = ", ".join(collector.names[:12]) or "none"
        raise PatchError(
            f"{where}: no function or class named {qualname!r} (defined here: {known})",
            hint="name the target as Class.method or outer.inner, relative to the module",
        )
    if len(collector.found) > 1:
        raise PatchError(
            f"{where}: {qualname!r} is defined {len(collector.found)} times in the file",
            hint="replace the whole enclosing definition instead",
        )
    replacement = parse_definition(source, qualname.rsplit(".", 1)[-1], where)
    updated = module.visit(_Replacer(collector.found[0], replacement))
    return updated.code


def apply_definitions(root: Path, edits: Sequence[DefinitionEdit]) -> dict[str, str]:
    """New file texts after every edit, in order, computed in memory (nothing written)."""
    texts: dict[str, str] = {}
    for edit in edits:
        path, qualname = split_target(edit.target)
        if path not in texts:
            current = read_text(root, path)
            if current is None:
                raise PatchError(f"definition target {edit.target!r}: file {path} does not exist")
            texts[path] = current
        texts[path] = replace_definition(
            texts[path], qualname, edit.source, where=f"definition target {edit.target!r}"
        )
    return texts


def definitions_to_diff(root: Path, edits: Sequence[DefinitionEdit]) -> str:
    """A unified diff equivalent to applying the definition edits under ``root``."""
    return make_diff(root, dict(apply_definitions(root, edits)))
