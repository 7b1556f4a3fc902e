"""Forbidden constructs: process spawning, network, dynamic code, ctypes, writes that escape
the workspace, plus any dotted names the project adds (policy.forbidden_names).

Detection is static (the candidate has not run, and must not): imports are resolved through
their aliases (``import subprocess as sp; sp.run`` is ``subprocess.run``) and every reference,
called or not, is checked. Only what the candidate *adds* is blamed: a construct counts when
it sits on a line the change added and the file now has more of it than the base had, so
an agent that already used ``requests`` can still be fixed elsewhere in the same file.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass

from theseus.change.policy.report import Change, Violation
from theseus.errors import ConfigError


@dataclass(frozen=True)
class Category:
    modules: frozenset[str] = frozenset()  # importing these (or submodules) is forbidden
    names: frozenset[str] = frozenset()  # dotted names that may not be referenced
    prefixes: tuple[str, ...] = ()  # dotted-name prefixes, e.g. os.exec for execv/execvp...


CATEGORIES: dict[str, Category] = {
    "process": Category(
        modules=frozenset({"subprocess", "multiprocessing", "pty", "pexpect", "sh"}),
        names=frozenset(
            {
                "os.system",
                "os.popen",
                "os.fork",
                "os.forkpty",
                "os.posix_spawn",
                "os.posix_spawnp",
                "os.startfile",
                "asyncio.create_subprocess_exec",
                "asyncio.create_subprocess_shell",
                "concurrent.futures.ProcessPoolExecutor",
            }
        ),
        prefixes=("os.exec", "os.spawn"),
    ),
    "network": Category(
        modules=frozenset(
            {
                "socket",
                "socketserver",
                "ssl",
                "http.client",
                "http.server",
                "urllib.request",
                "urllib3",
                "requests",
                "httpx",
                "aiohttp",
                "ftplib",
                "smtplib",
                "poplib",
                "imaplib",
                "telnetlib",
                "xmlrpc.client",
                "websocket",
                "websockets",
            }
        ),
        names=frozenset({"asyncio.open_connection", "asyncio.start_server"}),
    ),
    "dynamic-code": Category(
        modules=frozenset({"runpy"}),
        names=frozenset(
            {
                "eval",
                "exec",
                "compile",
                "__import__",
                "importlib.import_module",
                "importlib.__import__",
                "builtins.eval",
                "builtins.exec",
                "builtins.compile",
                "builtins.__import__",
            }
        ),
    ),
    "ctypes": Category(modules=frozenset({"ctypes", "_ctypes", "cffi"})),
    "filesystem-escape": Category(
        names=frozenset({"shutil.rmtree", "os.chdir", "os.fchdir", "os.chroot"})
    ),
}
_BUILTINS = frozenset({"eval", "exec", "compile", "__import__", "open"})
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


@dataclass(frozen=True)
class Construct:
    category: str
    key: str
    line: int


def categories_for(names: list[str], extra: list[str]) -> dict[str, Category]:
    """The categories a policy names; ConfigError for an unknown one."""
    chosen = {}
    for name in names:
        if name not in CATEGORIES:
            raise ConfigError(
                f"policy.forbidden: unknown category {name!r}",
                hint=f"choose from {', '.join(sorted(CATEGORIES))}",
            )
        chosen[name] = CATEGORIES[name]
    if extra:
        chosen["custom"] = Category(names=frozenset(extra))
    return chosen


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

    def add(self, category: str, key: str, node: ast.AST) -> None:
        self.found.append(Construct(category, key, getattr(node, "lineno", 0)))

    def check_module(self, module: str, node: ast.AST) -> None:
        for name, category in self.categories.items():
            if any(module == m or module.startswith(m + ".") for m in category.modules):
                self.add(name, f"import {module}", node)

    def check_name(self, dotted: str, node: ast.AST) -> None:
        for name, category in self.categories.items():
            if (
                dotted in category.names
                or dotted.startswith(category.prefixes)
                or any(dotted.startswith(m + ".") for m in category.modules)
            ):
                self.add(name, dotted, node)

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
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        root = self.aliases.get(node.id, node.id)
        return ".".join([root, *reversed(parts)])

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


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted name it was imported as, for every absolute import."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def find_constructs(text: str, categories: dict[str, Category]) -> list[Construct]:
    """Every forbidden construct in a module's source (empty when it does not parse)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    finder = _Finder(categories, _aliases(tree))
    finder.visit(tree)
    return finder.found


def check_constructs(change: Change) -> list[Violation]:
    """Forbidden constructs the candidate adds (pre-existing ones are not blamed)."""
    policy = change.settings.policy
    categories = categories_for(list(policy.forbidden), list(policy.forbidden_names))
    if not categories:
        return []
    found = []
    for path in change.python_files():
        new = find_constructs(change.new(path) or "", categories)
        base = Counter(
            (c.category, c.key) for c in find_constructs(change.old(path) or "", categories)
        )
        budget = Counter((c.category, c.key) for c in new)
        budget.subtract(base)
        added = change.added_lines.get(path, set())
        blamed: set[tuple[str, int]] = set()
        for construct in new:
            key = (construct.category, construct.key)
            if construct.line in added and budget[key] > 0:
                budget[key] -= 1
                if (construct.category, construct.line) in blamed:
                    continue  # one violation per category and line is enough
                blamed.add((construct.category, construct.line))
                found.append(
                    Violation(
                        f"forbidden-{construct.category}",
                        f"adds {construct.key} ({construct.category} is forbidden by policy.forbidden)",
                        path,
                        construct.line,
                    )
                )
    return found
