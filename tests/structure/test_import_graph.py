"""The package's import graph: no cycles (lazy imports included), and stages in order.

Every ``import`` statement of ``src/theseus`` counts, wherever it stands: at the top, inside
a function, under ``if TYPE_CHECKING:``. A cycle hidden behind a lazy import is still a
cycle: it means two modules cannot be understood, tested or moved one without the other.
Importing ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``, so those count too, except
for a module's own enclosing packages (Python has run them before the module anyway).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from theseus import _pyast as pyast

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "theseus"

# The order written in CONTRIBUTING.md: a module may import its own layer and earlier ones.
LAYERS: list[set[str]] = [
    {
        "theseus.errors",
        "theseus._atomic",
        "theseus._pyast",
        "theseus._jsonvalue",
        "theseus._scratch",
        "theseus.endpoints",
        "theseus.oracles",
    },
    {"theseus.paths"},
    {"theseus.config"},
    {"theseus.evidence", "theseus"},  # the root package is the agent-side SDK face
    {"theseus.change"},
    {"theseus.verify"},
    {"theseus.propose"},
    {"theseus.lineage"},
    {"theseus.gate"},
    {"theseus.runtime"},
    {"theseus.evolve"},
    {"theseus.demo", "theseus.bench"},
    {"theseus.cli", "theseus.__main__"},
]


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = _modules()


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        name = ".".join(base + ([node.module] if node.module else []))
    else:
        name = node.module or ""
    submodules = [f"{name}.{a.name}" for a in node.names if f"{name}.{a.name}" in MODULES]
    if submodules and len(submodules) == len(node.names):
        yield from submodules  # `from pkg import mod`: the module, not pkg's face
    else:
        yield name
        yield from submodules


def _known(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _enclosing(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def import_graph() -> dict[str, set[str]]:
    """module -> the theseus modules (and packages) importing it runs."""
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in MODULES.items():
        edges: set[str] = set()
        for node in ast.walk(pyast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(module, is_package, node):
                known = _known(target) if target.startswith(PACKAGE) else None
                if known is None or known == module:
                    continue
                edges.add(known)
                edges.update(p for p in _enclosing(known) if p in MODULES)
        graph[module] = edges - _enclosing(module) - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_of(module: str) -> int:
    for number, layer in enumerate(LAYERS):
        for top in layer:
            if module == top or (top != PACKAGE and module.startswith(top + ".")):
                return number
    raise AssertionError(f"{module} is in no layer of LAYERS; add it where it belongs")


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_no_stage_imports_a_later_one() -> None:
    backwards = [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in import_graph().items()
        for target in targets
        if layer_of(target) > layer_of(module)
    ]
    assert backwards == []


def test_no_module_imports_its_own_package_face() -> None:
    """Inside a package, import the sibling module, not the package: the face imports the
    siblings, so going through it is a cycle in all but name."""
    offenders = []
    for module, (path, is_package) in MODULES.items():
        if is_package:
            continue
        own = module.rpartition(".")[0]
        for node in ast.walk(pyast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom | ast.Import)
                and own != PACKAGE
                and own in set(_targets(module, is_package, node))
            ):
                offenders.append(f"{module} imports {own}")
    assert offenders == []


def test_every_stage_has_a_public_face() -> None:
    """Each stage's __init__ says what it is and exports what other stages use."""
    for stage in ("evidence", "change", "verify", "propose", "lineage", "gate", "runtime",
                  "evolve", "demo", "bench"):  # fmt: skip
        init = SRC / PACKAGE / stage / "__init__.py"
        tree = pyast.parse(init.read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree) or ""
        assert len(doc.splitlines()) >= 3, f"theseus.{stage} needs a docstring saying what it is"
        names = [
            n.targets[0].id
            for n in tree.body
            if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
        ]
        assert "__all__" in names, f"theseus.{stage} exports nothing with __all__"


# --- the checker itself must be able to fail ------------------------------------------


def test_a_cycle_behind_a_lazy_import_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("module", "layer"),
    [("theseus.errors", 0), ("theseus.evidence.sdk", 3), ("theseus.evolve.cycle", 10)],
)
def test_layers_are_read_as_written(module: str, layer: int) -> None:
    assert layer_of(module) == layer


def test_function_level_imports_are_edges() -> None:
    graph = import_graph()
    # runtime.client is imported at top level by evolve.cycle; a lazy import anywhere
    # would show up the same way, which is what the cycle test relies on.
    assert "theseus.runtime.client" in graph["theseus.runtime"]
    assert any("theseus.change.definitions" in targets for targets in graph.values()), (
        "the lazy libcst import of theseus.change is seen"
    )


def test_every_parse_in_the_package_takes_the_parse_lock() -> None:
    """``ast.parse`` from two threads corrupts CPython's converter state (see _pyast.py)."""
    direct = [
        f"{module}: line {node.lineno}"
        for module, (path, _) in MODULES.items()
        if module != "theseus._pyast"
        for node in ast.walk(pyast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and node.attr == "parse"
        and isinstance(node.value, ast.Name)
        and node.value.id == "ast"
    ]
    assert direct == []
