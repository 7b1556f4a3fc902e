"""Statement-level mutation operators: guards, delete/move/copy statements, return values.

These edit whole lines, so they only apply to statements that fill their own lines. They
are the operators most prone to overfitting (deleting the statement that makes a test fail
"fixes" it), so their priors are low: the search tries them after the small edits.
"""

from __future__ import annotations

import ast
import builtins
import copy
from collections.abc import Iterator

from theseus.propose.repair.edit import Change, Editor, Undo, count_tokens
from theseus.propose.repair.operators import Operator
from theseus.propose.repair.scope import Scope


def _body_slot(ed: Editor, stmt: ast.stmt) -> tuple[ast.AST, str, int] | None:
    slot = ed.parents.get(id(stmt))
    if slot is None or slot[2] is None:
        return None
    return slot[0], slot[1], slot[2]


def _insert(body: list[ast.stmt], index: int, new: ast.stmt) -> Undo:
    body.insert(index, new)

    def undo() -> None:
        del body[index]

    return undo


def _delete(body: list[ast.stmt], index: int) -> Undo:
    old = body.pop(index)
    return lambda: body.insert(index, old)


def _indented(code: str, indent: str) -> str:
    return "".join(f"{indent}{line}\n" for line in code.splitlines())


def _insert_before(
    ed: Editor, stmt: ast.stmt, new: ast.stmt, after: bool = False
) -> tuple[str | None, str]:
    slot = _body_slot(ed, stmt)
    if slot is None or not ed.own_lines(stmt):
        return None, ""
    parent, name, index = slot
    body = getattr(parent, name)
    code = _indented(ast.unparse(new), ed.indent(stmt))
    start, end = ed.line_span(stmt)
    at = end if after else start
    text = ed.prove(lambda: _insert(body, index + int(after), new), [[(at, at, code)]])
    return text, code


def _defaults(scope: Scope) -> list[ast.expr]:
    """Values a guard may return: what the function already returns elsewhere (constants
    first), else None."""
    found: list[ast.expr] = []
    dumps: set[str] = set()
    for value in scope.returns:
        simple = isinstance(value, ast.Constant | ast.List | ast.Dict | ast.Tuple | ast.Name)
        if simple and ast.dump(value) not in dumps and len(ast.unparse(value)) <= 30:
            dumps.add(ast.dump(value))
            found.append(copy.deepcopy(value))
    for fallback in (ast.Constant(None), ast.Constant(0), ast.Constant("")):
        if ast.dump(fallback) not in dumps:
            dumps.add(ast.dump(fallback))
            found.append(fallback)
    return found[:5]


def _module_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _donor_guards(tree: ast.Module, scope: Scope, used: set[str]) -> list[ast.If]:
    """Guards (``if <test>: return <value>``) elsewhere in the module that test a name this
    statement uses and refer only to names in scope here: the redundancy a codebase has
    (one function checks for a missing order, its sibling forgot to)."""
    known = set(scope.variables) | _module_names(tree) | set(dir(builtins))
    found: list[ast.If] = []
    seen: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.If) and not node.orelse and len(node.body) == 1):
            continue
        if not isinstance(node.body[0], ast.Return | ast.Continue):
            continue
        tested = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        key = ast.dump(node)
        if tested & used and names <= known and key not in seen:
            seen.add(key)
            found.append(copy.deepcopy(node))
    return found[:6]


def insert_guard(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    if scope.function is None or stmt is scope.function:
        return
    names: list[str] = []
    checks: list[tuple[ast.expr, float, str]] = []
    test: ast.expr
    walk_root = (
        stmt.test
        if isinstance(stmt, ast.If | ast.While)
        else stmt.iter
        if isinstance(stmt, ast.For)
        else stmt
    )
    for node in ast.walk(walk_root):
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id in scope.variables
        ) and node.id not in names:
            names.append(node.id)
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = copy.deepcopy(node.slice)
            if not isinstance(key, ast.Slice):
                test = ast.Compare(key, [ast.NotIn()], [copy.deepcopy(node.value)])
                checks.append((test, 0.5, f"'{ast.unparse(test)}'"))
    for name in names[:4]:
        var = ast.Name(name, ast.Load())
        checks.append(
            (ast.Compare(var, [ast.Is()], [ast.Constant(None)]), 0.45, f"'{name} is None'")
        )
        checks.append((ast.UnaryOp(ast.Not(), var), 0.4, f"'not {name}'"))
    exits: list[tuple[ast.stmt, float]] = [(ast.Return(value), 1.0) for value in _defaults(scope)]
    if scope.loop is not None:
        exits.insert(0, (ast.Continue(), 1.0))
    for donor in _donor_guards(ed.tree, scope, set(names)):
        text, code = _insert_before(ed, stmt, donor)
        if text is not None and text != ed.source:
            desc = f"copy guard '{ast.unparse(donor.test)}' from elsewhere in the module"
            yield Change(stmt.lineno, "insert_guard", desc, 0.55, text, count_tokens(code))
    for test, prior, label in checks:
        for exit_stmt, weight in exits:
            guard = ast.If(test=test, body=[exit_stmt], orelse=[])
            text, code = _insert_before(ed, stmt, guard)
            if text is not None and text != ed.source:
                desc = f"insert guard if {label}: {ast.unparse(exit_stmt)}"
                yield Change(
                    stmt.lineno, "insert_guard", desc, prior * weight, text, count_tokens(code)
                )


def _effects(stmt: ast.stmt) -> tuple[set[str], set[str]]:
    """The names a statement reads and the names it writes, where writing includes changing
    an object in place (``x.sort()``, ``x[i] = v``, ``x.attr = v``), as far as ``ast`` shows."""
    reads: set[str] = set()
    writes: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else writes).add(node.id)
        elif isinstance(node, ast.Attribute | ast.Subscript) and not isinstance(node.ctx, ast.Load):
            writes.update(n.id for n in ast.walk(node.value) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            if isinstance(receiver, ast.Name):
                writes.add(receiver.id)  # a method call may change its receiver
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            reads.add(node.target.id)  # ``x += 1`` reads x before it writes it
    return reads, writes


def order_matters(first: ast.stmt, second: ast.stmt) -> bool:
    """Whether swapping two statements can change what they compute: one writes a name the
    other reads or writes. Swapping independent statements is (almost always) an equivalent
    mutant, so the search should spend its time on the dependent pairs first."""
    reads_a, writes_a = _effects(first)
    reads_b, writes_b = _effects(second)
    return bool(writes_a & (reads_b | writes_b) or writes_b & reads_a)


def statement_edits(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    """Delete the statement, move it past its neighbour, or copy a statement from the same
    function or module before or after it."""
    slot = _body_slot(ed, stmt)
    if slot is None or not ed.own_lines(stmt) or isinstance(stmt, ast.FunctionDef | ast.ClassDef):
        return
    parent, name, index = slot
    body: list[ast.stmt] = getattr(parent, name)
    start, end = ed.line_span(stmt)
    if len(body) > 1 and not isinstance(stmt, ast.Return):
        text = ed.prove(lambda: _delete(body, index), [[(start, end, "")]])
        if text is not None:
            yield Change(
                stmt.lineno,
                "delete_statement",
                "delete statement",
                0.2,
                text,
                count_tokens(ed.text(stmt)),
            )
    if index + 1 < len(body) and ed.own_lines(body[index + 1]):
        nxt = body[index + 1]
        n_start, n_end = ed.line_span(nxt)

        def swap() -> Undo:
            body[index], body[index + 1] = body[index + 1], body[index]
            return lambda: body.__setitem__(slice(index, index + 2), [stmt, nxt])

        moved = ed.source[n_start:n_end] + ed.source[start:end]
        text = ed.prove(swap, [[(start, n_end, moved)]])
        if text is not None:
            # Misordered steps share data (truncate, then sort); independent ones rarely matter.
            yield Change(
                stmt.lineno,
                "move_statement",
                "move statement below the next one",
                0.6 if order_matters(stmt, nxt) else 0.15,
                text,
                count_tokens(ed.text(stmt)),
            )
    donors = [
        s for s in scope.body_statements
        if isinstance(s, ast.Assign | ast.AugAssign | ast.Expr | ast.Return)
        and s is not stmt and ast.dump(s) != ast.dump(stmt)
    ][:12]  # fmt: skip
    for donor in donors:
        for after in (False, True):
            if after and isinstance(stmt, ast.Return):
                continue
            text, code = _insert_before(ed, stmt, copy.deepcopy(donor), after=after)
            if text is not None:
                where = "after" if after else "before"
                desc = f"copy '{ast.unparse(donor)}' {where} line {stmt.lineno}"
                yield Change(stmt.lineno, "copy_statement", desc, 0.18, text, count_tokens(code))


def return_value(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    if not isinstance(stmt, ast.Return) or stmt.value is None:
        return
    seen = {ast.dump(stmt.value)}
    for other in scope.returns:
        if ast.dump(other) in seen or len(ast.unparse(other)) > 60:
            continue
        seen.add(ast.dump(other))
        text = ed.replace_expr(stmt.value, copy.deepcopy(other))
        if text is not None:
            yield Change(
                stmt.lineno,
                "return_value",
                f"return '{ast.unparse(other)}' instead",
                0.35,
                text,
                count_tokens(ast.unparse(other)),
            )
    for name in scope.variables[:8]:
        if ast.dump(ast.Name(name, ast.Load())) in seen:
            continue
        text = ed.replace_expr(stmt.value, ast.Name(name, ast.Load()))
        if text is not None:
            yield Change(stmt.lineno, "return_value", f"return '{name}' instead", 0.45, text, 1)


STATEMENT_OPERATORS: tuple[Operator, ...] = (insert_guard, return_value, statement_edits)
