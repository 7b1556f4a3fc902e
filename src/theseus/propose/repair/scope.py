"""What is in scope at a statement: the names an operator may substitute or test.

Operators that replace a name, a callee or synthesise a condition only draw from what the
code around the bug already uses; that keeps the search space small and the fixes natural
(a fix that invents identifiers is almost never the right one).
"""

from __future__ import annotations

import ast
import builtins
from collections import Counter
from dataclasses import dataclass, field

COMMON_CALLABLES = ("len", "min", "max", "abs", "sum", "sorted", "int", "str", "float", "round")


@dataclass
class Scope:
    function: ast.FunctionDef | ast.AsyncFunctionDef | None
    variables: list[str] = field(default_factory=list)
    callables: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    returns: list[ast.expr] = field(default_factory=list)
    loop: ast.For | ast.While | None = None
    body_statements: list[ast.stmt] = field(default_factory=list)


def _enclosing(tree: ast.Module, stmt: ast.stmt) -> tuple[ast.AST | None, ast.AST | None]:
    """Innermost function and innermost loop (inside that function) containing ``stmt``."""
    func: ast.AST | None = None
    loop: ast.AST | None = None

    def visit(node: ast.AST, current_func: ast.AST | None, current_loop: ast.AST | None) -> bool:
        nonlocal func, loop
        if node is stmt:
            func, loop = current_func, current_loop
            return True
        for child in ast.iter_child_nodes(node):
            child_func, child_loop = current_func, current_loop
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                child_func, child_loop = child, None
            elif isinstance(child, ast.For | ast.While) and child is not stmt:
                child_loop = child
            if visit(child, child_func, child_loop):
                return True
        return False

    visit(tree, None, None)
    return func, loop


def scope_at(tree: ast.Module, stmt: ast.stmt) -> Scope:
    func, loop = _enclosing(tree, stmt)
    assert func is None or isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
    assert loop is None or isinstance(loop, ast.For | ast.While)
    scope = Scope(function=func, loop=loop)
    region: ast.AST = func if func is not None else tree
    counts: Counter[str] = Counter()
    if func is not None:
        for arg in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]:
            counts[arg.arg] += 1
    called: Counter[str] = Counter()
    attrs: Counter[str] = Counter()
    for node in ast.walk(region):
        if isinstance(node, ast.Name):
            counts[node.id] += 1
        elif isinstance(node, ast.Return) and node.value is not None and region is func:
            scope.returns.append(node.value)
        elif isinstance(node, ast.Attribute):
            attrs[node.attr] += 1
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called[node.func.id] += 1
    module_defs = {
        n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    imported = {
        (a.asname or a.name).split(".")[0]
        for n in tree.body
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    callable_names = set(called) | module_defs | set(COMMON_CALLABLES)
    scope.callables = sorted(callable_names, key=lambda n: (-called[n], n))
    scope.variables = [
        name
        for name, _ in counts.most_common()
        if name not in callable_names
        and name not in imported
        and not hasattr(builtins, name)
        and name not in module_defs
    ]
    scope.attributes = [name for name, _ in attrs.most_common()]
    if func is not None:
        scope.body_statements = [
            n for n in ast.walk(func) if isinstance(n, ast.stmt) and n is not func
        ]
    return scope
