"""Forbidden constructs: process spawning, network, dynamic code, ctypes, writes that escape
the workspace, plus any dotted names the project adds (policy.forbidden_names), and the
always-forbidden dynamic paths to capabilities (:mod:`~theseus.change.policy.dynamic`:
computed attribute access, frames, the class graph, unpickling, modules reached through
other modules).

Detection is static (the candidate has not run, and must not): imports are resolved through
their aliases (``import subprocess as sp; sp.run`` is ``subprocess.run``) and every reference,
called or not, is checked. Only what the candidate *adds* is blamed: a construct counts when
it sits on a line the change added and the file now has more of it than the base had, so
an agent that already used ``requests`` can still be fixed elsewhere in the same file.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable

from theseus.change.apply import read_text
from theseus.change.policy.categories import (
    CATEGORIES,
    CONSENTABLE,
    Category,
    Construct,
    categories_for,
    hits_module,
    hits_name,
    with_hard,
)
from theseus.change.policy.dynamic import (
    DynamicFinder,
    aliases,
    dotted_name,
    module_aliases,
    parse_module,
)
from theseus.change.policy.modattrs import top
from theseus.change.policy.report import Capability, Change, Violation
from theseus.change.policy.rules import import_anchor, module_files
from theseus.config import PolicySettings
from theseus.errors import TheseusError

__all__ = ["CATEGORIES", "Category", "Construct", "categories_for", "find_constructs"]

_BUILTINS = frozenset(
    {"eval", "exec", "compile", "__import__", "open", "breakpoint", "help", "__build_class__"}
    | {"vars", "globals", "locals"}
)
_FS_FUNCTIONS = frozenset(
    {
        "os.remove",
        "os.unlink",
        "os.rmdir",
        "os.removedirs",
        "os.rename",
        "os.renames",
        "os.replace",
        "os.mkdir",
        "os.makedirs",
        "os.chmod",
        "os.chown",
        "os.truncate",
        "os.symlink",
        "os.link",
        "os.open",
        "shutil.move",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.copytree",
    }
)
_PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "Path"})
_PATH_WRITES = frozenset(
    {
        "write_text",
        "write_bytes",
        "unlink",
        "rmdir",
        "mkdir",
        "touch",
        "rename",
        "replace",
        "symlink_to",
        "hardlink_to",
        "chmod",
        "open",
    }
)


def _escapes(node: ast.expr | None) -> bool:
    """A literal path that is absolute, in a home folder, or climbs with '..'."""
    if isinstance(node, ast.JoinedStr) and node.values:
        node = node.values[0] if isinstance(node.values[0], ast.Constant) else None
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)):
        return False
    text = node.value.decode(errors="replace") if isinstance(node.value, bytes) else node.value
    return text.startswith(("/", "~")) or ".." in text.replace("\\", "/").split("/")


class _Finder(ast.NodeVisitor):
    def __init__(self, categories: dict[str, Category], aliases: dict[str, str]) -> None:
        self.categories = categories
        self.aliases = aliases
        self.found: list[Construct] = []

    def add(self, category: str, key: str, node: ast.AST, via_module: bool = False) -> None:
        self.found.append(Construct(category, key, getattr(node, "lineno", 0), via_module))

    def check_module(self, module: str, node: ast.AST) -> None:
        for name, category in self.categories.items():
            if hits_module(category, module):
                self.add(name, f"import {module}", node, via_module=True)

    def check_name(self, dotted: str, node: ast.AST) -> None:
        for name, category in self.categories.items():
            via_module = hits_name(category, dotted)
            if via_module is not None:
                self.add(name, dotted, node, via_module)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_module(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            return
        module = node.module or ""
        self.check_module(module, node)
        for alias in node.names:
            self.check_module(f"{module}.{alias.name}", node)
            self.check_name(f"{module}.{alias.name}", node)

    def resolve(self, node: ast.expr) -> str | None:
        return dotted_name(node, self.aliases)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            dotted = self.resolve(node)
            if dotted and (node.id in self.aliases or node.id in _BUILTINS):
                self.check_name(dotted, node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        root: ast.expr = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            self.generic_visit(node)
        elif root.id in self.aliases or root.id in _BUILTINS:
            self.check_name(self.resolve(node) or "", node)

    def visit_Call(self, node: ast.Call) -> None:
        if "filesystem-escape" in self.categories:
            self._filesystem(node)
        self.generic_visit(node)

    def _filesystem(self, node: ast.Call) -> None:
        dotted = self.resolve(node.func)
        args: list[ast.expr | None] = [*node.args, *(k.value for k in node.keywords)]
        if dotted in ("open", "io.open", "builtins.open") and node.args and _escapes(node.args[0]):
            mode = node.args[1] if len(node.args) > 1 else None
            mode = next((k.value for k in node.keywords if k.arg == "mode"), mode)
            if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
                writes = any(flag in mode.value for flag in "wax+")
            else:
                writes = mode is not None
            if writes:
                self.add("filesystem-escape", f"{dotted}(<outside path>, write)", node)
        elif dotted in _FS_FUNCTIONS and any(_escapes(arg) for arg in args):
            self.add("filesystem-escape", f"{dotted}(<outside path>)", node)
        elif isinstance(node.func, ast.Attribute) and node.func.attr in _PATH_WRITES:
            target = node.func.value
            while isinstance(target, ast.BinOp) and isinstance(target.op, ast.Div):
                target = target.left
            if (
                isinstance(target, ast.Call)
                and self.resolve(target.func) in _PATH_CLASSES
                and target.args
                and _escapes(target.args[0])
            ):
                self.add("filesystem-escape", f"Path(<outside path>).{node.func.attr}", node)


def find_constructs(text: str, categories: dict[str, Category]) -> list[Construct]:
    """Every forbidden construct in a module's source (empty when it does not parse)."""
    tree = parse_module(text)
    if tree is None:
        return []
    finder = _Finder(categories, aliases(tree))
    finder.visit(tree)
    return finder.found


def safe_modules(policy: PolicySettings) -> frozenset[str]:
    """The safe set by top-level name (what policy.allowed_imports lets anyone import)."""
    return frozenset(top(name) for name in policy.allowed_imports)


def project_imports(change: Change) -> Callable[[str], dict[str, str] | None]:
    """module -> what that module of the agent's package imports (local name -> dotted),
    read from the candidate's text or the base; None for a module outside the package."""
    agent = change.settings.agent
    cache: dict[str, dict[str, str] | None] = {}

    def lookup(module: str) -> dict[str, str] | None:
        if not (module == agent.package or module.startswith(agent.package + ".")):
            return None
        if module not in cache:
            cache[module] = None
            for path in module_files(module, agent.python_path):
                try:
                    text = (
                        change.new(path)
                        if path in change.paths
                        else read_text(change.base_root, path)
                    )
                except TheseusError:
                    continue
                if text is not None and parse_module(text) is not None:
                    cache[module] = module_aliases(text, import_anchor(path, agent.python_path))
                    break
        return cache[module]

    return lookup


def _constructs(
    text: str,
    categories: dict[str, Category],
    finder: Callable[[ast.Module, str], DynamicFinder],
) -> list[Construct]:
    tree = parse_module(text)
    if tree is None:
        return []
    names = _Finder(categories, module_aliases(text, None))
    names.visit(tree)
    dynamic = finder(tree, text)
    dynamic.visit(tree)
    return names.found + dynamic.found


def check_constructs(change: Change) -> list[Violation]:
    """Forbidden and dynamic-capability constructs the candidate adds (pre-existing ones
    are not blamed). Under policy.capability_changes = "consent" the *module* uses of a
    :data:`CONSENTABLE` category go to consent instead; everything else stays a violation."""
    policy = change.settings.policy
    categories = with_hard(categories_for(list(policy.forbidden), list(policy.forbidden_names)))
    consent = policy.capability_changes == "consent"
    safe, project = safe_modules(policy), project_imports(change)
    python_path = change.settings.agent.python_path
    found = []
    for path in change.python_files():
        anchor = import_anchor(path, python_path)

        def finder(tree: ast.Module, text: str, anchor: str | None = anchor) -> DynamicFinder:
            return DynamicFinder(tree, safe, project, anchor, module_aliases(text, anchor))

        new = _constructs(change.new(path) or "", categories, finder)
        base = Counter(
            (c.category, c.key) for c in _constructs(change.old(path) or "", categories, finder)
        )
        budget = Counter((c.category, c.key) for c in new)
        budget.subtract(base)
        added = change.added_lines.get(path, set())
        blamed: set[tuple[str, int]] = set()
        for construct in new:
            key = (construct.category, construct.key)
            if construct.line not in added or budget[key] <= 0:
                continue
            budget[key] -= 1
            if (construct.category, construct.line) in blamed:
                continue  # one finding per category and line is enough
            blamed.add((construct.category, construct.line))
            # imports are listed by the capability rule; a write outside is no new reach
            listed = not construct.key.startswith("import ") and construct.category not in (
                "filesystem-escape",
                "custom",
            )
            if consent and construct.via_module and construct.category in CONSENTABLE:
                if listed:
                    change.capabilities.append(
                        Capability(
                            "construct", construct.key, path, construct.line, "consent",
                            f"uses a {construct.category} module",
                        )
                    )  # fmt: skip
                continue
            if listed:
                change.capabilities.append(
                    Capability(
                        "construct", construct.key, path, construct.line, "rejected",
                        f"forbidden-{construct.category}",
                    )
                )  # fmt: skip
            found.append(
                Violation(
                    f"forbidden-{construct.category}",
                    f"adds {construct.key} ({_why(construct.category, policy)})",
                    path,
                    construct.line,
                )
            )
    return found


def _why(category: str, policy: PolicySettings) -> str:
    if category in policy.forbidden or category == "custom":
        return f"{category} is forbidden by policy.forbidden"
    return f"{category} is always forbidden: it reaches what the imports do not show"
