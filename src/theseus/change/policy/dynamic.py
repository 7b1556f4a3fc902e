"""Dynamic paths to capabilities: the constructs a list of forbidden names cannot see.

``getattr(__import__("o" + "s"), "sys" + "tem")`` names neither ``os`` nor ``system``, and
``().__class__.__bases__[0].__subclasses__()`` names nothing at all, yet both reach a
process. So besides the dotted names of :mod:`~theseus.change.policy.categories`, this
finder rejects the *shapes* of such paths, whatever they are called:

- attribute access by a computed name: ``getattr``/``setattr``/``delattr``/``hasattr``
  with a name that is not a literal, any of them on a module or on ``__builtins__``, used
  as a value (``g = getattr``), and ``operator.attrgetter``/``methodcaller`` likewise;
- namespaces as dictionaries: ``__dict__``, ``__builtins__``, ``__loader__``, ``__spec__``;
- frames, code objects and the class graph: ``f_globals``, ``tb_frame``, ``__globals__``,
  ``__code__``, ``__subclasses__``, ``__mro__``, ``__bases__``, ``().__class__`` ...,
  also as ``match`` class-pattern attributes and inside strings (``"{0.__globals__}"``);
- modules smuggled through allowed ones (``uuid.os``, ``from uuid import os``), private
  module attributes (``random._os``), a module object used as a value (``f(uuid)``, which
  lets ``f`` reach ``uuid.os`` unseen) and star imports, which bind unknown names.

String annotations are code too (``typing.get_type_hints`` and pydantic evaluate them), so
:func:`parse_module` parses them in place before any finder runs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from functools import lru_cache

from theseus import _pyast as pyast
from theseus.change.policy.categories import Construct
from theseus.change.policy.modattrs import foreign_module, is_module, is_private, top

ATTR_FUNCTIONS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
GETTER_FACTORIES = frozenset({"operator.attrgetter", "operator.methodcaller"})
FRAME_ATTRS = frozenset(
    {
        *(f"f_{name}" for name in ("globals", "locals", "builtins", "back", "code", "trace")),
        *("gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code"),
        *("tb_frame", "tb_next", "co_code", "co_consts", "func_globals", "func_code"),
    }
)
DUNDERS: dict[str, str] = {
    **dict.fromkeys(
        ("__dict__", "__builtins__", "__loader__", "__spec__", "__import__", "__getattribute__"),
        "dynamic-access",
    ),
    **dict.fromkeys(("__getattr__", "__annotations__", "__objclass__"), "dynamic-access"),
    **dict.fromkeys(
        ("__globals__", "__code__", "__closure__", "__subclasses__", "__mro__", "__bases__"),
        "introspection",
    ),
    **dict.fromkeys(
        ("__base__", "__self__", "__reduce__", "__reduce_ex__", "__defaults__"),
        "introspection",
    ),
    "__kwdefaults__": "introspection",
    "__traceback__": "introspection",
}
NAMES = frozenset({"__builtins__", "__loader__", "__spec__", "__annotations__"})
SUSPICIOUS_ATTRS = frozenset({"get_field"})  # string.Formatter().get_field("0.__globals__")
_IN_STRING = re.compile(
    r"[.\[]\s*(" + "|".join(re.escape(n) for n in sorted({*DUNDERS, *FRAME_ATTRS})) + r")\b"
)
_LITERALS = (ast.Constant, ast.Tuple, ast.List, ast.Dict, ast.Set, ast.JoinedStr)
_ANNOTATION_DEPTH = 4


def _absolute(node: ast.ImportFrom, anchor: str | None) -> str | None:
    """The module a ``from ... import`` reads from; relative ones need the file's package."""
    if not node.level:
        return node.module
    if anchor is None:
        return None
    parts = anchor.split(".") if anchor else []
    if node.level - 1 > len(parts):
        return None
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])]) or None


@lru_cache(maxsize=128)
def module_aliases(text: str, anchor: str | None) -> dict[str, str]:
    """:func:`aliases` of a module's source, memoized (shared: do not modify the dict)."""
    tree = parse_module(text)
    return {} if tree is None else aliases(tree, anchor)


def aliases(tree: ast.AST, anchor: str | None = None) -> dict[str, str]:
    """Local name -> dotted name it was imported as, for every absolute import (and the
    relative ones too when ``anchor``, the package ``from . import`` means, is known)."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = alias.name
                else:
                    found[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and (module := _absolute(node, anchor)):
            for alias in node.names:
                found[alias.asname or alias.name] = f"{module}.{alias.name}"
    return found


ProjectImports = Callable[[str], dict[str, str] | None]
"""module of the agent's package -> its imports (local name -> dotted); None otherwise."""


def _no_project(module: str) -> dict[str, str] | None:
    return None


def _module_names(tree: ast.AST, known: dict[str, str], is_mod: Callable[[str], bool]) -> set[str]:
    """Local names bound to module objects: every ``import x`` and each ``from a import b``
    where ``a.b`` is known to be a module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(
                a.asname or a.name
                for a in node.names
                if (a.asname or a.name) in known and is_mod(known[a.asname or a.name])
            )
    return {name for name in names if name in known}


def _expand(annotation: ast.expr, depth: int = 0) -> ast.expr:
    """``annotation`` with each string inside it replaced by the expression it holds."""
    if depth > _ANNOTATION_DEPTH:
        return annotation
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            parsed = pyast.parse(annotation.value.strip(), mode="eval").body
        except SyntaxError:
            return annotation  # Literal["two words"]: not code, and not evaluable either
        for node in ast.walk(parsed):
            if hasattr(node, "lineno"):
                ast.copy_location(node, annotation)
        return _expand(parsed, depth + 1)
    for field, value in ast.iter_fields(annotation):
        if isinstance(value, ast.expr):
            setattr(annotation, field, _expand(value, depth))
        elif isinstance(value, list):
            setattr(
                annotation,
                field,
                [_expand(v, depth) if isinstance(v, ast.expr) else v for v in value],
            )
    return annotation


@lru_cache(maxsize=128)
def parse_module(text: str) -> ast.Module | None:
    """The module's tree with string annotations parsed in place; None if it does not parse.

    Memoized by text (the rules, and the repair search's many candidates, parse the same
    files over and over), so the tree is shared: read it, never modify it."""
    try:
        tree = pyast.parse(text)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            node.annotation = _expand(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            node.returns = _expand(node.returns)
    return tree


def dotted_name(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """``a.b.c`` for an attribute chain on a name, the name read through the module's
    import aliases (``np.array`` -> ``numpy.array``); None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([aliases.get(node.id, node.id), *reversed(parts)])


class DynamicFinder(ast.NodeVisitor):
    """Collects the dynamic-capability constructs of one module (see the module doc)."""

    def __init__(
        self,
        tree: ast.Module,
        safe: frozenset[str],
        project: ProjectImports = _no_project,
        anchor: str | None = None,
        known: dict[str, str] | None = None,
    ) -> None:
        self.safe = safe
        self.project = project
        self.anchor = anchor
        self.aliases = aliases(tree, anchor) if known is None else known  # only ever read
        self.modules = _module_names(tree, self.aliases, self._is_module)
        self.found: list[Construct] = []

    def _is_module(self, dotted: str) -> bool:
        return self.project(dotted) is not None or is_module(dotted, self.safe)

    def _reaches(self, owner: str, attr: str) -> str | None:
        """The module outside the safe set that ``owner.attr`` is, if it is one."""
        imports = self.project(owner)
        if imports is None:
            return foreign_module(owner, attr, self.safe)
        target = imports.get(attr)
        if target is None or top(target) in self.safe or self.project(target) is not None:
            return None  # the project's own code, or something the safe set allows anyway
        return target

    def add(self, category: str, key: str, node: ast.AST) -> None:
        self.found.append(Construct(category, key, getattr(node, "lineno", 0)))

    def resolve(self, node: ast.expr) -> str | None:
        return dotted_name(node, self.aliases)

    def _module_root(self, node: ast.expr) -> str | None:
        """The dotted module an attribute chain ends in, when its root is a module name."""
        if isinstance(node, ast.Name):
            return self.aliases[node.id] if node.id in self.modules else None
        if isinstance(node, ast.Attribute):
            return self.resolve(node) if self._module_root(node.value) else None
        return None

    def _attr_name(self, name: str, node: ast.AST, where: str | None = None) -> None:
        """Checks an attribute name however it is spelled (``.x``, ``getattr``, patterns)."""
        if name in DUNDERS:
            self.add(DUNDERS[name], name, node)
        elif name in FRAME_ATTRS:
            self.add("introspection", f".{name} (frame or code object)", node)
        elif name in SUSPICIOUS_ATTRS:
            self.add("dynamic-access", f".{name} (attribute lookup by string)", node)
        elif where is not None and is_private(name):
            self.add("dynamic-access", f"{where}.{name} (private module attribute)", node)
        elif where is not None and (reached := self._reaches(where, name)):
            self.add("dynamic-access", f"{where}.{name} (module {reached})", node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._attr_name(node.attr, node, self._module_root(node.value))
        if node.attr == "__class__" and isinstance(node.value, (*_LITERALS, ast.Call)):
            self.add("introspection", "<literal>.__class__", node)
        if not (isinstance(node.value, ast.Name) and node.value.id in self.modules):
            self.visit(node.value)  # a module name followed by an attribute is its normal use

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in NAMES:
            self.add("dynamic-access", node.id, node)
        elif node.id in ATTR_FUNCTIONS and isinstance(node.ctx, ast.Load):
            self.add("dynamic-access", f"{node.id} used as a value", node)
        elif node.id in self.modules and isinstance(node.ctx, ast.Load):
            module = self.aliases[node.id]
            self.add("dynamic-access", f"module {module} used as a value", node)
        elif self.aliases.get(node.id) in GETTER_FACTORIES:
            self.add("dynamic-access", f"{self.aliases[node.id]} used as a value", node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        dotted = self.resolve(func)
        if isinstance(func, ast.Name) and func.id in ATTR_FUNCTIONS:
            self._attr_call(func.id, node)
        elif dotted in GETTER_FACTORIES:
            self._getter_factory(dotted, node)
        else:
            self.visit(func)
        for child in [*node.args, *node.keywords]:
            self.visit(child)

    def _attr_call(self, function: str, node: ast.Call) -> None:
        target = node.args[0] if node.args else None
        name = node.args[1] if len(node.args) > 1 else None
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            self.add("dynamic-access", f"{function}(<computed name>)", node)
            return
        module = self._module_root(target) if target is not None else None
        if isinstance(target, ast.Name) and target.id in NAMES:
            module = target.id
        if module is not None:
            self.add("dynamic-access", f"{function}(<module {module}>)", node)
        else:
            self._attr_name(name.value, node)

    def _getter_factory(self, dotted: str, node: ast.Call) -> None:
        names = node.args if dotted.endswith("attrgetter") else node.args[:1]
        for arg in names:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                self.add("dynamic-access", f"{dotted}(<computed name>)", node)
            elif not arg.value.isidentifier() or is_private(arg.value):
                self.add("dynamic-access", f"{dotted}(<dotted or private name>)", node)
            else:
                self._attr_name(arg.value, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = _absolute(node, self.anchor)
        for alias in node.names:
            if alias.name == "*" and not node.level:
                self.add("dynamic-access", f"from {node.module} import *", node)
            elif module is not None and alias.name != "*":
                self._attr_name(alias.name, node, module)

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        for name in node.kwd_attrs:
            self._attr_name(name, node)
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            self.generic_visit(node)  # a bare string statement (a docstring) never runs

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and (match := _IN_STRING.search(node.value)):
            self.add("dynamic-access", f"a string naming {match.group(1)}", node)
