"""Minimal source edits for AST mutations, checked against the AST they are meant to produce.

Operators decide *what* to change on the AST; this module turns the change into the
smallest text edit (an operator token, one expression's span, whole lines for statements)
so the diff touches only what changed and keeps the author's formatting and comments.
Every edit is proven: the new text must parse to exactly the module the operator intended
(the AST change applied in place, dumped, and undone). A text edit that would parse
differently (a lost precedence, say) is retried in parentheses, or dropped.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from theseus import _pyast as pyast

Undo = Callable[[], None]
TextEdit = tuple[int, int, str]  # [start, end) character offsets -> replacement

OP_TEXT: dict[type[ast.AST], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
    ast.LShift: "<<", ast.RShift: ">>", ast.MatMult: "@",
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    ast.And: "and", ast.Or: "or",
}  # fmt: skip


@dataclass(frozen=True)
class Change:
    """One proven mutation of one file."""

    line: int
    operator: str
    description: str
    prior: float
    new_source: str
    tokens: int


class Editor:
    """One parsed file plus the machinery to make proven minimal edits to it."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source
        self.tree = pyast.parse(source)
        self.lines = source.splitlines(keepends=True)
        self._starts = [0]
        for line in self.lines:
            self._starts.append(self._starts[-1] + len(line))
        self.parents: dict[int, tuple[ast.AST, str, int | None]] = {}
        for parent in ast.walk(self.tree):
            for name, value in ast.iter_fields(parent):
                if isinstance(value, ast.AST):
                    self.parents[id(value)] = (parent, name, None)
                elif isinstance(value, list):
                    for index, item in enumerate(value):
                        if isinstance(item, ast.AST):
                            self.parents[id(item)] = (parent, name, index)

    # -- positions ---------------------------------------------------------------------
    def offset(self, lineno: int, col: int) -> int:
        """Character offset of an AST (line, UTF-8 byte column) position."""
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        return self._starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.source[start:end]

    def own_lines(self, stmt: ast.stmt) -> bool:
        """Whether the statement alone fills its lines (so line edits are safe)."""
        start, end = self.span(stmt)
        line_start = self._starts[stmt.lineno - 1]
        line_end = self._starts[(stmt.end_lineno or stmt.lineno)]
        before = self.source[line_start:start]
        after = self.source[end:line_end].split("#", 1)[0]
        return not before.strip() and not after.strip()

    def indent(self, stmt: ast.stmt) -> str:
        line = self.lines[stmt.lineno - 1]
        return line[: len(line) - len(line.lstrip())]

    def line_span(self, stmt: ast.stmt) -> tuple[int, int]:
        return self._starts[stmt.lineno - 1], self._starts[stmt.end_lineno or stmt.lineno]

    # -- proving -----------------------------------------------------------------------
    def prove(self, mutate: Callable[[], Undo], variants: list[list[TextEdit]]) -> str | None:
        """Apply the AST change, remember the module it gives, undo it; return the first
        text variant that parses to exactly that module.

        Only the top-level statement holding the edit is compared (with the module's length):
        the text outside the edit is untouched, so the rest of the module parses the same,
        and dumping one function instead of the whole module per mutant keeps building the
        mutant space cheap.
        """
        where = self._top_level_at(min(start for edits in variants for start, _, _ in edits))
        length = len(self.tree.body)
        undo = mutate()
        try:
            if where is not None and len(self.tree.body) == length:
                expected = ast.dump(self.tree.body[where])
            else:
                where, expected = None, ast.dump(self.tree)
        finally:
            undo()
        for edits in variants:
            text = apply_edits(self.source, edits)
            try:
                parsed = pyast.parse(text)
            except (SyntaxError, ValueError, RecursionError):
                continue
            if where is None:
                got = ast.dump(parsed)
            elif len(parsed.body) != length:
                continue
            else:
                got = ast.dump(parsed.body[where])
            if got == expected:
                return text
        return None

    def _top_level_at(self, offset: int) -> int | None:
        """Index in the module body of the top-level statement whose lines hold ``offset``."""
        for index, stmt in enumerate(self.tree.body):
            start, end = self.line_span(stmt)
            if start <= offset < end:
                return index
        return None

    # -- AST slot helpers ------------------------------------------------------------
    def swap_node(self, node: ast.AST, new: ast.AST) -> Callable[[], Undo]:
        parent, name, index = self.parents[id(node)]

        def mutate() -> Undo:
            if index is None:
                setattr(parent, name, new)
                return lambda: setattr(parent, name, node)
            getattr(parent, name)[index] = new
            return lambda: getattr(parent, name).__setitem__(index, node)

        return mutate

    def replace_expr(self, node: ast.AST, new: ast.expr) -> str | None:
        """Replace one expression's span by ``new`` (bare, then parenthesised)."""
        start, end = self.span(node)
        code = ast.unparse(new)
        variants = [[(start, end, code)], [(start, end, f"({code})")]]
        return self.prove(self.swap_node(node, new), variants)


def set_field(node: ast.AST, name: str, value: object, index: int | None = None) -> Undo:
    """Set ``node.name`` (or ``node.name[index]``) and return the undo."""
    if index is None:
        old = getattr(node, name)
        setattr(node, name, value)
        return lambda: setattr(node, name, old)
    items = getattr(node, name)
    old_item = items[index]
    items[index] = value
    return lambda: items.__setitem__(index, old_item)


def apply_edits(source: str, edits: list[TextEdit]) -> str:
    """Apply non-overlapping edits (any order) to a text."""
    out = source
    for start, end, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        out = out[:start] + replacement + out[end:]
    return out


def token_edit(ed: Editor, gap: tuple[int, int], old: str, new: str) -> list[TextEdit]:
    """Replace the operator token ``old`` inside ``gap`` (the text between two operands)."""
    start, end = gap
    text = ed.source[start:end]
    pattern = (
        r"\b" + re.escape(old).replace(r"\ ", r"\s+") + r"\b"
        if old[0].isalpha()
        else re.escape(old)
    )
    match = re.search(pattern, text)
    if match is None:
        return []
    return [(start + match.start(), start + match.end(), new)]


def count_tokens(text: str) -> int:
    """A rough token count of an edit (identifiers, numbers, operators)."""
    return max(1, len(re.findall(r"\w+|[^\w\s]+", text)))


def iter_exprs(stmt: ast.stmt) -> Iterator[ast.expr]:
    """The expressions a statement owns: for a compound statement only its header (test,
    iterator, context managers), never the nested body (those are statements of their own)."""
    if isinstance(stmt, ast.If | ast.While):
        roots: list[ast.AST] = [stmt.test]
    elif isinstance(stmt, ast.For | ast.AsyncFor):
        roots = [stmt.iter]
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        roots = [item.context_expr for item in stmt.items]
    elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Try):
        roots = []
    else:
        roots = [stmt]
    for root in roots:
        for node in ast.walk(root):
            if isinstance(node, ast.expr):
                yield node
