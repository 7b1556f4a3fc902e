"""The map of errors in theseus.errors is complete and true: every TheseusError subclass in
the package appears in the tree under its real parent, and nothing in the tree is made up."""

from __future__ import annotations

import importlib
import pkgutil
import re

import theseus
from theseus import errors
from theseus.errors import TheseusError

_BRANCH = re.compile(r"^(?P<indent>[│ ]*)(?:├── |└── )?(?P<name>[A-Z]\w+)\b")


def _tree() -> dict[str, str | None]:
    """class name -> parent name, read from the docstring's tree."""
    doc = errors.__doc__ or ""
    block = doc.split("::", 1)[1]
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        stripped = line.strip()
        if not stripped:
            if parents:
                break
            continue
        match = _BRANCH.match(stripped if not parents else line[4:])
        assert match, f"unreadable line in the errors tree: {line!r}"
        depth = len(match.group("indent")) // 4 + (1 if "── " in line else 0)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match.group("name")] = stack[-1][1] if stack else None
        stack.append((depth, match.group("name")))
    return parents


def _all_subclasses() -> dict[str, str]:
    for info in pkgutil.walk_packages(theseus.__path__, "theseus."):
        if info.name == "theseus.__main__":
            continue
        importlib.import_module(info.name)
    found: dict[str, str] = {}
    pending = [TheseusError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("theseus."):
                found[sub.__name__] = cls.__name__
                pending.append(sub)
    return found


def test_the_errors_tree_lists_every_error_under_its_parent() -> None:
    tree = _tree()
    assert tree.pop("TheseusError") is None
    assert tree == _all_subclasses()


def test_the_tree_reader_sees_nesting() -> None:
    tree = _tree()
    assert tree["BadRequest"] == "ServiceError"
    assert tree["LiveError"] == "DemoError"
    assert tree["ConfigError"] == "TheseusError"
