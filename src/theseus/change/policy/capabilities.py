"""Capabilities: a candidate may add imports only from an allowlist.

A list of forbidden modules is always one module short (there is always another way to
open a socket), so imports are judged the other way round. A new import is allowed when

- the changed module's base already has exactly that import statement;
- its module is in ``policy.allowed_imports`` (pure standard-library modules by default),
  a submodule of one included;
- it is the agent's own package (``agent.package``) or a relative import, which stays in
  the project (and every project file a candidate changes is checked by the same rules).

Why the two kinds of match differ: the safe set is chosen module by module as holding
nothing but computation, and its submodules (``collections.abc``, ``json.decoder``) are
part of that same code, so the top-level name is enough. What the base imports was never
chosen at all; it is whatever the module needed. ``from os import path`` in the base must
not make ``import os`` or ``from os import system`` new-but-allowed, and ``import xml.dom``
must not allow ``import xml.sax``, a different module whose code the file never ran. So a
base import only allows the very same statement again (its alias aside), e.g. a local
import inside a new function.

Every new import is listed in the report's ``capabilities`` with its verdict. One beyond
the allowlist is a violation (rule ``capability``) under ``policy.capability_changes =
"reject"``; under ``"consent"`` it is not, and the report ``needs_consent`` instead, unless
a hard category (dynamic code, ctypes, unpickling ...) or a forbidden name (``from os
import system``) covers it: those stay violations whatever a person would say.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from theseus.change.policy.categories import (
    CONSENTABLE,
    Category,
    categories_for,
    hits_module,
    hits_name,
    with_hard,
)
from theseus.change.policy.dynamic import parse_module
from theseus.change.policy.report import Capability, Change, Violation

RULE = "capability"


@dataclass(frozen=True)
class ImportUse:
    """One imported name: ``statement`` is its canonical form (no alias), the unit the
    base comparison uses; ``module`` is the module it loads (``.x`` when relative)."""

    statement: str
    module: str
    name: str | None
    level: int
    line: int


def imports_of(text: str | None) -> list[ImportUse]:
    """Every import in a module's source, wherever it stands (empty when it does not parse)."""
    tree = parse_module(text or "")
    if tree is None:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(ImportUse(f"import {alias.name}", alias.name, None, 0, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                statement = f"from {module} import {alias.name}"
                found.append(ImportUse(statement, module, alias.name, node.level, node.lineno))
    return found


def _within(module: str, names: list[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


def _allowed(use: ImportUse, change: Change) -> str | None:
    """Why a new ``use`` is within the allowlist, or None when it is not."""
    if use.level:
        return "relative import within the project"
    if _within(use.module, [change.settings.agent.package]):
        return "the agent's own package"
    if _within(use.module, list(change.settings.policy.allowed_imports)):
        return "in policy.allowed_imports"
    return None


def _covering(use: ImportUse, categories: dict[str, Category]) -> tuple[str, bool] | None:
    """(category, consentable) of the first category that forbids ``use`` itself."""
    modules = [use.module] + ([f"{use.module}.{use.name}"] if use.name else [])
    for name, category in categories.items():
        if any(hits_module(category, module) for module in modules):
            return name, name in CONSENTABLE
        via_module = hits_name(category, modules[-1]) if use.name else None
        if via_module is not None:
            return name, via_module and name in CONSENTABLE
    return None


def check_capabilities(change: Change) -> list[Violation]:
    """Imports beyond the allowlist (see the module docstring); records every new import
    in ``change.capabilities``."""
    policy = change.settings.policy
    categories = with_hard(categories_for(list(policy.forbidden), list(policy.forbidden_names)))
    consent = policy.capability_changes == "consent"
    found = []
    for path in change.python_files():
        base = {use.statement for use in imports_of(change.base(path))}
        seen: set[tuple[str, int]] = set()
        for use in sorted(imports_of(change.new(path)), key=lambda u: u.line):
            if use.statement in base or (use.statement, use.line) in seen:
                continue  # not new: the base runs this very import statement already
            seen.add((use.statement, use.line))
            reason = _allowed(use, change)
            if reason is not None:
                change.capabilities.append(
                    Capability("import", use.statement, path, use.line, "allowed", reason)
                )
                continue
            covered = _covering(use, categories)
            if consent and (covered is None or covered[1]):
                why = "beyond policy.allowed_imports" + (f" ({covered[0]})" if covered else "")
                change.capabilities.append(
                    Capability("import", use.statement, path, use.line, "consent", why)
                )
                continue
            why = f"forbidden-{covered[0]}" if covered else "beyond policy.allowed_imports"
            change.capabilities.append(
                Capability("import", use.statement, path, use.line, "rejected", why)
            )
            found.append(Violation(RULE, _message(use, covered), path, use.line))
    return found


def _message(use: ImportUse, covered: tuple[str, bool] | None) -> str:
    if covered is not None:
        return f"adds {use.statement}, which the {covered[0]} category forbids"
    return (
        f"adds {use.statement}: {use.module} is not in policy.allowed_imports and this "
        "module did not import it before (use an allowed module, add it to "
        'policy.allowed_imports, or set policy.capability_changes = "consent")'
    )
