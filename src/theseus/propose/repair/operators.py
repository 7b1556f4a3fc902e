"""Expression-level mutation operators: operators, bounds, conditions, names, callees.

Each operator yields :class:`Change` objects for one statement. The prior attached to each
one is how often that kind of edit is the fix for a real single-edit bug (a relational
operator off by ``=`` or a bound off by one far more often than an invented condition);
the search multiplies it by the statement's suspiciousness.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from functools import partial

from theseus.propose.repair.edit import (
    OP_TEXT,
    Change,
    Editor,
    count_tokens,
    iter_exprs,
    set_field,
    token_edit,
)
from theseus.propose.repair.scope import Scope

Operator = Callable[[Editor, ast.stmt, Scope], Iterator[Change]]

COMPARE_SWAPS: dict[type[ast.cmpop], list[tuple[type[ast.cmpop], float]]] = {
    ast.Lt: [(ast.LtE, 0.95), (ast.Gt, 0.6), (ast.GtE, 0.5), (ast.NotEq, 0.35), (ast.Eq, 0.3)],
    ast.LtE: [(ast.Lt, 0.95), (ast.GtE, 0.6), (ast.Gt, 0.5), (ast.Eq, 0.3)],
    ast.Gt: [(ast.GtE, 0.95), (ast.Lt, 0.6), (ast.LtE, 0.5), (ast.NotEq, 0.35), (ast.Eq, 0.3)],
    ast.GtE: [(ast.Gt, 0.95), (ast.LtE, 0.6), (ast.Lt, 0.5), (ast.Eq, 0.3)],
    ast.Eq: [(ast.NotEq, 0.9), (ast.LtE, 0.35), (ast.GtE, 0.35), (ast.Is, 0.25)],
    ast.NotEq: [(ast.Eq, 0.9), (ast.Lt, 0.35), (ast.Gt, 0.35), (ast.IsNot, 0.25)],
    ast.Is: [(ast.IsNot, 0.9), (ast.Eq, 0.3)],
    ast.IsNot: [(ast.Is, 0.9), (ast.NotEq, 0.3)],
    ast.In: [(ast.NotIn, 0.9)],
    ast.NotIn: [(ast.In, 0.9)],
}
BINARY_SWAPS: dict[type[ast.operator], list[tuple[type[ast.operator], float]]] = {
    ast.Add: [(ast.Sub, 0.8), (ast.Mult, 0.35)],
    ast.Sub: [(ast.Add, 0.8), (ast.FloorDiv, 0.2)],
    ast.Mult: [(ast.Div, 0.5), (ast.Add, 0.4), (ast.Pow, 0.3), (ast.FloorDiv, 0.3)],
    ast.Div: [(ast.FloorDiv, 0.75), (ast.Mult, 0.5)],
    ast.FloorDiv: [(ast.Div, 0.7), (ast.Mod, 0.4), (ast.Mult, 0.3)],
    ast.Mod: [(ast.FloorDiv, 0.4)],
    ast.Pow: [(ast.Mult, 0.4)],
    ast.BitAnd: [(ast.BitOr, 0.6)],
    ast.BitOr: [(ast.BitAnd, 0.6)],
}
CALLEE_PAIRS = {
    "min": "max", "max": "min", "any": "all", "all": "any", "floor": "ceil", "ceil": "floor",
    "lower": "upper", "upper": "lower", "startswith": "endswith", "endswith": "startswith",
    "append": "extend", "extend": "append", "lstrip": "rstrip", "rstrip": "lstrip",
    "index": "find", "find": "index", "keys": "values", "values": "keys", "pop": "get",
}  # fmt: skip
WRAPPERS = ("len", "int", "abs", "str", "sorted", "list", "float", "round", "bool")


def _change(ed: Editor, stmt: ast.stmt, op: str, desc: str, prior: float, text: str | None,
            edited: str) -> Iterator[Change]:  # fmt: skip
    if text is not None and text != ed.source:
        yield Change(stmt.lineno, op, desc, prior, text, count_tokens(edited))


# Flipping the membership/identity test of ONE operand of an and/or turns a guard into a
# different guard that often passes the failing cases only because they never exercise the
# other operand (seen in the demo: `a not in R and b not in R` "fixed" as `a in R and ...`
# where `or` was right). An anti-pattern prior, as in repair research: such flips rank
# below changing the joiner itself.
_POLARITY_FLIPS = {
    (ast.In, ast.NotIn),
    (ast.NotIn, ast.In),
    (ast.Is, ast.IsNot),
    (ast.IsNot, ast.Is),
}
_FLIP_INSIDE_BOOLOP = 0.5


def _inside_boolop(ed: Editor, node: ast.AST) -> bool:
    parent = ed.parents.get(id(node))
    return parent is not None and isinstance(parent[0], ast.BoolOp)


def compare_op(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    for node in iter_exprs(stmt):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        in_boolop = _inside_boolop(ed, node)
        for i, op in enumerate(node.ops):
            gap = (ed.span(operands[i])[1], ed.span(operands[i + 1])[0])
            for new_type, prior in COMPARE_SWAPS.get(type(op), []):
                if in_boolop and (type(op), new_type) in _POLARITY_FLIPS:
                    prior *= _FLIP_INSIDE_BOOLOP
                old_text, new_text = OP_TEXT[type(op)], OP_TEXT[new_type]
                edits = token_edit(ed, gap, old_text, new_text)
                if not edits:
                    continue
                text = ed.prove(partial(set_field, node, "ops", new_type(), i), [edits])
                desc = f"replace '{old_text}' with '{new_text}'"
                yield from _change(ed, stmt, "compare_op", desc, prior, text, new_text)


def binary_op(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    for node in iter_exprs(stmt):
        if isinstance(node, ast.BinOp):
            gap = (ed.span(node.left)[1], ed.span(node.right)[0])
        else:
            continue
        for new_type, prior in BINARY_SWAPS.get(type(node.op), []):
            old_text, new_text = OP_TEXT[type(node.op)], OP_TEXT[new_type]
            edits = token_edit(ed, gap, old_text, new_text)
            text = ed.prove(partial(set_field, node, "op", new_type()), [edits])
            desc = f"replace '{old_text}' with '{new_text}'"
            yield from _change(ed, stmt, "binary_op", desc, prior * 0.95, text, new_text)
    if isinstance(stmt, ast.AugAssign):
        gap = (ed.span(stmt.target)[1], ed.span(stmt.value)[0])
        for new_type, prior in BINARY_SWAPS.get(type(stmt.op), []):
            old_text, new_text = OP_TEXT[type(stmt.op)] + "=", OP_TEXT[new_type] + "="
            edits = token_edit(ed, gap, old_text, new_text)
            text = ed.prove(partial(set_field, stmt, "op", new_type()), [edits])
            desc = f"replace '{old_text}' with '{new_text}'"
            yield from _change(ed, stmt, "augassign_op", desc, prior, text, new_text)


def boolean_op(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    for node in iter_exprs(stmt):
        if isinstance(node, ast.BoolOp):
            old_text = OP_TEXT[type(node.op)]
            new_op: ast.boolop = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            new_text = OP_TEXT[type(new_op)]
            edits = []
            for left, right in zip(node.values, node.values[1:], strict=False):
                edits += token_edit(ed, (ed.span(left)[1], ed.span(right)[0]), old_text, new_text)
            text = ed.prove(partial(set_field, node, "op", new_op), [edits])
            desc = f"replace '{old_text}' with '{new_text}'"
            yield from _change(ed, stmt, "boolean_op", desc, 0.75, text, new_text)
            for index, value in enumerate(node.values):  # drop one conjunct / disjunct
                rest = [v for j, v in enumerate(node.values) if j != index]
                new: ast.expr = rest[0] if len(rest) == 1 else ast.BoolOp(node.op, rest)
                text = ed.replace_expr(node, new)
                desc = f"drop condition '{ast.unparse(value)}'"
                yield from _change(ed, stmt, "drop_condition", desc, 0.4, text, "x")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
            text = ed.replace_expr(node, node.operand)
            desc = "remove 'not'" if isinstance(node.op, ast.Not) else "remove unary '-'"
            yield from _change(ed, stmt, "unary_op", desc, 0.55, text, "not")


def _int_literal(value: int) -> ast.expr:
    """``-1`` is written (and parsed) as unary minus applied to 1, not a negative constant."""
    if value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def _bound_positions(stmt: ast.stmt) -> Iterator[tuple[ast.expr, float]]:
    """Expressions where an off-by-one is likely: indices, slice bounds, range/enumerate
    arguments, comparison operands, and integer constants anywhere."""
    for node in iter_exprs(stmt):
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            yield node.slice, 0.8
        elif isinstance(node, ast.Slice):
            for bound in (node.lower, node.upper):
                if bound is not None:
                    yield bound, 0.8
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("range", "enumerate"):
                for arg in node.args[:2]:
                    yield arg, 0.8
        elif isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                yield operand, 0.65
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield node, 0.6
        elif isinstance(node, ast.Return) and node.value is not None:
            yield node.value, 0.4


def off_by_one(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    done: set[int] = set()
    positions = list(_bound_positions(stmt))
    if isinstance(stmt, ast.Return) and stmt.value is not None:
        positions.append((stmt.value, 0.4))
    for node, prior in positions:
        if id(node) in done:
            continue
        done.add(id(node))
        if isinstance(node, ast.Constant) and type(node.value) is int:
            parent = ed.parents.get(id(node))
            if (
                parent
                and isinstance(parent[0], ast.BinOp)
                and isinstance(parent[0].op, ast.Add | ast.Sub)
                and node.value == 1
            ):
                continue  # `x - 1` -> `x - 0` / `x - 2`: the drop below is the natural edit
            for delta in (1, -1):
                new: ast.expr = _int_literal(node.value + delta)
                text = ed.replace_expr(node, new)
                desc = f"change {node.value} to {node.value + delta}"
                yield from _change(ed, stmt, "off_by_one", desc, max(prior, 0.75), text, "1")
            continue
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Add | ast.Sub)
            and isinstance(node.right, ast.Constant)
            and node.right.value == 1
        ):
            text = ed.replace_expr(node, node.left)
            desc = f"drop '{OP_TEXT[type(node.op)]} 1' from '{ed.text(node)}'"
            yield from _change(ed, stmt, "off_by_one", desc, max(prior, 0.75), text, "+ 1")
            other = ast.Add() if isinstance(node.op, ast.Sub) else ast.Sub()
            new = ast.BinOp(node.left, other, node.right)
            text = ed.replace_expr(node, new)
            desc = f"'{ed.text(node)}' -> '{ast.unparse(new)}'"
            yield from _change(ed, stmt, "off_by_one", desc, max(prior, 0.7), text, "+")
            continue
        if isinstance(node, ast.Name | ast.Call | ast.Attribute | ast.Subscript | ast.BinOp):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "range"
            ):
                continue
            for op_type in (ast.Add, ast.Sub):
                new = ast.BinOp(copy.deepcopy(node), op_type(), ast.Constant(1))
                text = ed.replace_expr(node, new)
                desc = f"'{ed.text(node)}' {OP_TEXT[op_type]} 1"
                yield from _change(ed, stmt, "off_by_one", desc, prior * 0.9, text, "+ 1")


def negate_condition(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    tests: list[ast.expr] = []
    if isinstance(stmt, ast.If | ast.While | ast.Assert):
        tests.append(stmt.test)
    tests += [n.test for n in iter_exprs(stmt) if isinstance(n, ast.IfExp)]
    for test in tests:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            continue  # removing the `not` is the unary operator's job
        text = ed.replace_expr(test, ast.UnaryOp(ast.Not(), copy.deepcopy(test)))
        yield from _change(ed, stmt, "negate_condition", "negate condition", 0.5, text, "not")
        if isinstance(stmt, ast.If | ast.While) and test is stmt.test:
            for name in scope.variables[:6]:  # synthesise: strengthen or weaken the test
                for joiner, prior in ((ast.And(), 0.2), (ast.Or(), 0.15)):
                    new = ast.BoolOp(joiner, [copy.deepcopy(test), ast.Name(name, ast.Load())])
                    text = ed.replace_expr(test, new)
                    desc = f"add '{OP_TEXT[type(joiner)]} {name}' to condition"
                    yield from _change(ed, stmt, "synthesise_condition", desc, prior, text, "and x")


def swap_operands(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    for node in iter_exprs(stmt):
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            if any(isinstance(a, ast.Starred) for a in node.args):
                continue
            for i in range(len(node.args) - 1):
                new = copy.deepcopy(node)
                new.args[i], new.args[i + 1] = new.args[i + 1], new.args[i]
                edits = [(*ed.span(node.args[i]), ed.text(node.args[i + 1])),
                         (*ed.span(node.args[i + 1]), ed.text(node.args[i]))]  # fmt: skip
                text = ed.prove(ed.swap_node(node, new), [edits])
                yield from _change(
                    ed, stmt, "swap_args", f"swap arguments {i + 1} and {i + 2}", 0.5, text, "a, b"
                )
        elif isinstance(node, ast.BinOp) and isinstance(
            node.op, ast.Sub | ast.Div | ast.FloorDiv | ast.Mod | ast.Pow
        ):
            swapped = ast.BinOp(copy.deepcopy(node.right), node.op, copy.deepcopy(node.left))
            text = ed.replace_expr(node, swapped)
            yield from _change(ed, stmt, "swap_operands", "swap operands", 0.4, text, "a b")


def replace_name(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    seen: set[tuple[int, str]] = set()
    for node in iter_exprs(stmt):
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id in scope.variables
        ):
            parent = ed.parents.get(id(node))
            if parent and isinstance(parent[0], ast.Call) and parent[1] == "func":
                continue
            for other in scope.variables[:10]:
                if other == node.id or (id(node), other) in seen:
                    continue
                seen.add((id(node), other))
                text = ed.replace_expr(node, ast.Name(other, ast.Load()))
                yield from _change(
                    ed,
                    stmt,
                    "replace_name",
                    f"use '{other}' instead of '{node.id}'",
                    0.45,
                    text,
                    "x",
                )
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            for other in scope.attributes[:8]:
                if other == node.attr:
                    continue
                new = ast.Attribute(copy.deepcopy(node.value), other, ast.Load())
                text = ed.replace_expr(node, new)
                yield from _change(
                    ed,
                    stmt,
                    "replace_name",
                    f"use '.{other}' instead of '.{node.attr}'",
                    0.3,
                    text,
                    "x",
                )
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            text = ed.replace_expr(node, ast.Constant(not node.value))
            yield from _change(
                ed,
                stmt,
                "replace_constant",
                f"change {node.value} to {not node.value}",
                0.55,
                text,
                "x",
            )


def replace_callee(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    for node in iter_exprs(stmt):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in CALLEE_PAIRS:
            new_attr = ast.Attribute(copy.deepcopy(func.value), CALLEE_PAIRS[func.attr], ast.Load())
            text = ed.replace_expr(func, new_attr)
            yield from _change(
                ed,
                stmt,
                "replace_callee",
                f"call '.{CALLEE_PAIRS[func.attr]}' instead of '.{func.attr}'",
                0.6,
                text,
                "f",
            )
        if not isinstance(func, ast.Name):
            continue
        pair = CALLEE_PAIRS.get(func.id)
        for other in ([pair] if pair else []) + [c for c in scope.callables[:10] if c != pair]:
            if other == func.id:
                continue
            prior = 0.7 if other == pair else 0.3
            text = ed.replace_expr(func, ast.Name(other, ast.Load()))
            yield from _change(
                ed,
                stmt,
                "replace_callee",
                f"call '{other}' instead of '{func.id}'",
                prior,
                text,
                "f",
            )


def wrap_call(ed: Editor, stmt: ast.stmt, scope: Scope) -> Iterator[Change]:
    for node in iter_exprs(stmt):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and len(node.args) == 1
            and not node.keywords
        ) and (node.func.id in WRAPPERS or node.func.id in ("list", "set", "tuple")):
            text = ed.replace_expr(node, node.args[0])
            yield from _change(
                ed, stmt, "unwrap_call", f"drop call to '{node.func.id}'", 0.35, text, "f()"
            )
        if isinstance(node, ast.Name | ast.BinOp | ast.Subscript | ast.Attribute) and isinstance(
            getattr(node, "ctx", ast.Load()), ast.Load
        ):
            parent = ed.parents.get(id(node))
            if parent and isinstance(parent[0], ast.Call) and parent[1] == "func":
                continue
            for wrapper in WRAPPERS[:6]:
                new = ast.Call(ast.Name(wrapper, ast.Load()), [copy.deepcopy(node)], [])
                text = ed.replace_expr(node, new)
                yield from _change(
                    ed,
                    stmt,
                    "wrap_call",
                    f"wrap '{ed.text(node)}' in {wrapper}()",
                    0.2,
                    text,
                    "f()",
                )


EXPRESSION_OPERATORS: tuple[Operator, ...] = (
    compare_op, binary_op, boolean_op, off_by_one, negate_condition, swap_operands,
    replace_name, replace_callee, wrap_call,
)  # fmt: skip
