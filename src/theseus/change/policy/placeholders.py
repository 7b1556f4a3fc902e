"""No placeholder where code was.

A candidate can "pass" a failing check by deleting the code that fails: emptying a function,
swallowing the error with ``except: pass``, leaving ``...`` or ``raise NotImplementedError``,
or a TODO for later. This rule rejects what the change *adds* of these:

- a TODO / FIXME / XXX comment on an added line that the base did not already have;
- a block whose only statement is ``pass``, ``...`` or ``raise NotImplementedError`` on an
  added line (class bodies, abstract methods, ``@overload`` and Protocol stubs are fine);
- a function that had a real body in the base and now has an empty or trivially-returning
  one (only a docstring, ``return``, ``return None``, a constant or an empty collection).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import Counter

from theseus import _pyast as pyast
from theseus.change.policy.report import Change, Violation

_MARKER = re.compile(r"\b(TODO|FIXME|XXX)\b")
_STUB_DECORATORS = frozenset({"abstractmethod", "overload", "abstractproperty"})
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def _comments(text: str) -> list[tuple[int, str]]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    return [(t.start[0], t.string.strip()) for t in tokens if t.type == tokenize.COMMENT]


def _stub_kind(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Pass):
        return "pass"
    if (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and statement.value.value is Ellipsis
    ):
        return "..."
    if isinstance(statement, ast.Raise) and statement.exc is not None:
        exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
        if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
            return "raise NotImplementedError"
    return None


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return body[1:]
    return body


def _is_trivial(function: FunctionNode) -> bool:
    body = _without_docstring(function.body)
    if not body:
        return True
    if len(body) != 1:
        return False
    only = body[0]
    if _stub_kind(only):
        return True
    if isinstance(only, ast.Return):
        value = only.value
        return (
            value is None
            or isinstance(value, ast.Constant)
            or (isinstance(value, ast.List | ast.Tuple | ast.Set) and not value.elts)
            or (isinstance(value, ast.Dict) and not value.keys)
        )
    return False


def _decorator_names(node: FunctionNode | ast.ClassDef) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute):
            names.add(target.attr)
        elif isinstance(target, ast.Name):
            names.add(target.id)
    return names


def _is_protocol(node: ast.ClassDef) -> bool:
    for base in node.bases:
        name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
        if name in ("Protocol", "ABC"):
            return True
    return False


class _Scan(ast.NodeVisitor):
    """Collects stub-only blocks and function bodies, keyed by qualified name."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.stubs: list[tuple[str, str, int]] = []  # (scope, kind, line)
        self.functions: dict[str, FunctionNode] = {}
        self.exempt = 0

    def _blocks(self, node: ast.AST) -> list[list[ast.stmt]]:
        blocks = []
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                blocks.append(block)
        return blocks

    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, ast.ClassDef) and not self.exempt:
            for block in self._blocks(node):
                body = _without_docstring(block) if isinstance(node, FunctionNode) else block
                if len(body) == 1 and (kind := _stub_kind(body[0])):
                    self.stubs.append((".".join(self.stack), kind, body[0].lineno))
        super().generic_visit(node)

    def _scoped(self, node: FunctionNode | ast.ClassDef, exempt: bool) -> None:
        self.stack.append(node.name)
        self.exempt += exempt
        self.generic_visit(node)
        self.exempt -= exempt
        self.stack.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions[".".join([*self.stack, node.name])] = node
        self._scoped(node, bool(_decorator_names(node) & _STUB_DECORATORS))

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.functions[".".join([*self.stack, node.name])] = node
        self._scoped(node, bool(_decorator_names(node) & _STUB_DECORATORS))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(node, _is_protocol(node))


def _scan(text: str | None) -> _Scan | None:
    try:
        tree = pyast.parse(text or "")
    except SyntaxError:
        return None
    scan = _Scan()
    scan.visit(tree)
    return scan


def check_placeholders(change: Change) -> list[Violation]:
    """Placeholders the candidate adds where the base had code (see the module docstring)."""
    if not change.settings.policy.placeholders:
        return []
    found: list[Violation] = []
    for path in change.python_files():
        new_text, old_text = change.new(path) or "", change.old(path)
        added = change.added_lines.get(path, set())
        old_comments = {text for _, text in _comments(old_text or "")}
        for line, comment in _comments(new_text):
            if line in added and _MARKER.search(comment) and comment not in old_comments:
                found.append(
                    Violation("placeholder", f"adds a placeholder comment {comment!r}", path, line)
                )
        new, old = _scan(new_text), _scan(old_text)
        if new is None:
            continue  # the parse rule reports it
        budget = Counter((scope, kind) for scope, kind, _ in new.stubs)
        budget.subtract(Counter((scope, kind) for scope, kind, _ in (old.stubs if old else [])))
        for scope, kind, line in new.stubs:
            if line in added and budget[(scope, kind)] > 0:
                budget[(scope, kind)] -= 1
                where = f" in {scope}" if scope else ""
                found.append(
                    Violation("placeholder", f"adds a bare `{kind}` block{where}", path, line)
                )
        if old is None:
            continue
        for name, function in new.functions.items():
            before = old.functions.get(name)
            if before is not None and _is_trivial(function) and not _is_trivial(before):
                line = (function.body[-1] if function.body else function).lineno
                if not any(v.line == line for v in found if v.file == path):
                    found.append(
                        Violation(
                            "placeholder",
                            f"replaces the body of {name} with a trivial one",
                            path,
                            line,
                        )
                    )
    return found
