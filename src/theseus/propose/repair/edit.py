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
        """Apply the AST change, return the first text variant that parses to exactly the
        module it gives, and undo it.

        Only the top-level statement holding the edit is compared, and only its own text is
        parsed: the text outside it is untouched and starts on a line of its own, so the
        rest of the module parses the same. Parsing and comparing one function instead of
        the whole module per mutant is what keeps building a space of a thousand mutants
        cheap. An edit that changes the number of top-level statements is checked on the
        whole module.
        """
        offsets = [
            offset for edits in variants for start, end, _ in edits for offset in (start, end)
        ]
        where = self._top_level_at(min(offsets))
        length = len(self.tree.body)
        segment = self._segment(where) if where is not None else None
        if segment is not None and max(offsets) > segment[1]:
            segment = None
        undo = mutate()
        try:
            if where is None or len(self.tree.body) != length:
                where, segment = None, None
            expected: ast.AST = self.tree if where is None else self.tree.body[where]
            for edits in variants:
                text = apply_edits(self.source, edits)
                if segment is not None:
                    grown = sum(len(new) - (end - start) for start, end, new in edits)
                    proved = _parses_to(text[segment[0] : segment[1] + grown], expected)
                    if proved is not None:
                        if proved:
                            return text
                        continue
                if _module_parses_to(text, where, length, expected):
                    return text
            return None
        finally:
            undo()

    def _segment(self, where: int) -> tuple[int, int]:
        """[start, end) of the lines of top-level statement ``where``, decorators included."""
        stmt = self.tree.body[where]
        first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
        return self._starts[first - 1], self._starts[stmt.end_lineno or stmt.lineno]

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


def _parses_to(snippet: str, expected: ast.AST) -> bool | None:
    """Whether one top-level statement's text parses to ``expected``; None when the text
    does not hold exactly one statement (another shares its line): ask the module."""
    try:
        parsed = pyast.parse(snippet)
    except (SyntaxError, ValueError, RecursionError):
        return False
    if len(parsed.body) != 1:
        return None
    return same_tree(parsed.body[0], expected)


def _module_parses_to(text: str, where: int | None, length: int, expected: ast.AST) -> bool:
    try:
        parsed = pyast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return False
    if where is None:
        return same_tree(parsed, expected)
    return len(parsed.body) == length and same_tree(parsed.body[where], expected)


def same_tree(a: object, b: object) -> bool:
    """Whether two syntax trees are the same, positions aside: what ``ast.dump(a) ==
    ast.dump(b)`` says, without building the two strings (the cost of proving a mutant)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, ast.AST):
        return all(same_tree(getattr(a, f, None), getattr(b, f, None)) for f in a._fields)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b, strict=True))
    return a == b


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
