"""The structural rules: the result parses, only allowed paths change, protected public
signatures keep their parameters, test files stay as they are, and the change is small.

Each rule is a function ``(Change) -> list[Violation]`` so :func:`theseus.change.policy.check`
can run them in order and new rules slot in without touching the others.
"""

from __future__ import annotations

import ast
from pathlib import PurePosixPath

from theseus import _pyast as pyast
from theseus.change.policy.report import Change, Violation
from theseus.paths import PathRules

TEST_DIRS = frozenset({"tests", "test"})


def is_test_file(path: str) -> bool:
    """tests/** (at any depth), test_*.py, *_test.py and conftest.py count as the test suite."""
    parts = PurePosixPath(path).parts
    name = parts[-1]
    return (
        any(part in TEST_DIRS for part in parts[:-1])
        or (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def check_parses(change: Change) -> list[Violation]:
    """Every changed Python file must still be valid Python."""
    found = []
    for path in change.python_files():
        try:
            pyast.parse(change.new(path) or "", filename=path)
        except SyntaxError as exc:
            found.append(Violation("parses", f"does not parse: {exc.msg}", path, exc.lineno))
    return found


def check_paths(change: Change) -> list[Violation]:
    """Only mutable paths change; protected paths and (unless allowed) tests never do."""
    settings = change.settings
    rules = PathRules(
        root=change.base_root, mutable=settings.paths.mutable, protected=settings.paths.protected
    )
    found = []
    for path in change.paths:
        if rules.is_protected(path):
            found.append(Violation("protected-paths", "changes a protected file", path))
        elif is_test_file(path):
            if not settings.policy.allow_test_changes:
                found.append(
                    Violation(
                        "tests",
                        "changes the test suite (set policy.allow_test_changes = true to allow)",
                        path,
                    )
                )
        elif not rules.is_mutable(path):
            found.append(
                Violation("mutable-paths", "is not covered by any paths.mutable glob", path)
            )
    return found


def check_size(change: Change) -> list[Violation]:
    """Limits from policy.max_changed_lines and policy.max_files."""
    policy = change.settings.policy
    found = []
    lines = sum(p.added + p.removed for p in change.patched.patches)
    if lines > policy.max_changed_lines:
        found.append(
            Violation(
                "max-changed-lines",
                f"changes {lines} lines, more than policy.max_changed_lines = {policy.max_changed_lines}",
            )
        )
    if len(change.paths) > policy.max_files:
        found.append(
            Violation(
                "max-files",
                f"changes {len(change.paths)} files, more than policy.max_files = {policy.max_files}",
            )
        )
    return found


def module_files(module: str, python_path: list[str]) -> list[str]:
    """Project-relative files that could hold ``module`` under the agent's python_path."""
    stem = module.replace(".", "/")
    out = []
    for entry in python_path:
        base = PurePosixPath(entry.strip("/") or ".")
        for rel in (f"{stem}.py", f"{stem}/__init__.py"):
            out.append((base / rel).as_posix().removeprefix("./"))
    return out


def module_name(path: str, python_path: list[str]) -> str | None:
    """The dotted module a project file is imported as (the inverse of module_files);
    ``pkg/__init__.py`` is ``pkg``. None when no python_path entry holds it."""
    posix = PurePosixPath(path)
    if posix.suffix != ".py":
        return None
    for entry in python_path:
        base = PurePosixPath(entry.strip("/") or ".")
        try:
            rel = posix.relative_to(base) if base != PurePosixPath(".") else posix
        except ValueError:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        if parts and all(part.isidentifier() for part in parts):
            return ".".join(parts)
    return None


def import_anchor(path: str, python_path: list[str]) -> str | None:
    """The package ``from . import x`` means in ``path`` (None when not importable)."""
    name = module_name(path, python_path)
    if name is None or PurePosixPath(path).name == "__init__.py":
        return name
    return name.rpartition(".")[0]


def check_signatures(change: Change) -> list[Violation]:
    """Every ``module:qualname`` in paths.protected_signatures keeps its parameters."""
    found = []
    python_path = change.settings.agent.python_path
    for spec in change.settings.paths.protected_signatures:
        module, _, qualname = spec.partition(":")
        for path in module_files(module, python_path):
            if path not in change.paths:
                continue
            old_text, new_text = change.old(path), change.new(path)
            old = _signature(old_text or "", qualname)
            if old is None:
                continue  # not defined in the base: nothing to protect yet
            new, line = (None, None) if new_text is None else _signature_at(new_text, qualname)
            if new is None:
                found.append(
                    Violation("protected-signature", f"removes protected {spec}", path, line)
                )
            elif new != old:
                found.append(
                    Violation(
                        "protected-signature",
                        f"changes the parameters of protected {spec}",
                        path,
                        line,
                    )
                )
    return found


def _signature(text: str, qualname: str) -> object | None:
    return _signature_at(text, qualname)[0]


def _signature_at(text: str, qualname: str) -> tuple[object | None, int | None]:
    try:
        tree = pyast.parse(text)
    except SyntaxError:
        return None, None
    node = find_definition(tree, qualname)
    if node is None:
        return None, None
    if isinstance(node, ast.ClassDef):
        methods = {
            item.name: _parameters(item)
            for item in node.body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            and (not item.name.startswith("_") or item.name == "__init__")
        }
        return methods, node.lineno
    return _parameters(node), node.lineno


def find_definition(
    tree: ast.Module, qualname: str
) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None:
    """The def or class at dotted ``qualname`` (``<locals>`` parts are skipped)."""
    parts = [p for p in qualname.split(".") if p != "<locals>"]
    body: list[ast.stmt] = tree.body
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None = None
    for part in parts:
        matches = [
            item
            for item in body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and item.name == part
        ]
        if not matches:
            return None
        node = matches[-1]  # the last definition is the one the module ends up with
        body = node.body
    return node


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[object, ...]:
    """Names, kinds and defaults of the parameters (annotations may change)."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    out: list[object] = []
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        kind = "positional-only" if index < len(args.posonlyargs) else "positional"
        out.append((kind, arg.arg, None if default is None else ast.dump(default)))
    if args.vararg:
        out.append(("*args", args.vararg.arg, None))
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append(("keyword-only", arg.arg, None if kw_default is None else ast.dump(kw_default)))
    if args.kwarg:
        out.append(("**kwargs", args.kwarg.arg, None))
    return (isinstance(node, ast.AsyncFunctionDef), *out)
