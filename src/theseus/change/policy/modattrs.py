"""Which attribute of a module is another module.

An allowlist of imports is only as good as what the allowed modules hand out: ``uuid.os``
is the ``os`` module, ``enum.bltns`` is ``builtins`` and ``dataclasses.sys`` is ``sys``,
so ``import uuid; uuid.os.system(...)`` would reach a process without importing one.
:func:`foreign_module` answers "does ``module.attr`` lead to a module the safe set does
not contain?".

For the standard-library modules of the safe set (and ``os``/``sys``, which every Python
process has loaded) the answer comes from the real module object: importing a pure
stdlib module runs no project code, and only the module's *own* submodules (``os.path``,
``json.decoder``, ``collections.abc``) or safe modules count as harmless. A module found
outside the standard library folders (a project file shadowing ``json``) is never
introspected. For every other module the answer is a name heuristic that errs on the side
of caution: an attribute named like a standard-library module outside the safe set is
taken to be that module.
"""

from __future__ import annotations

import importlib
import sys
import sysconfig
import types
import warnings
from functools import lru_cache
from pathlib import Path

_ALWAYS_LOADED = frozenset({"os", "sys"})
_RENAMED = {"bltns": "builtins", "stdlib_re": "re", "_sys": "sys", "_os": "os"}
"""Modules the standard library re-exports under another name."""


def _stdlib_dirs() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    return tuple({Path(paths["stdlib"]).resolve(), Path(paths["platstdlib"]).resolve()})


_STDLIB = _stdlib_dirs()


def top(module: str) -> str:
    return module.partition(".")[0]


def is_private(name: str) -> bool:
    """``_name`` (a module's internals), but not ``__dunder__`` (handled by name)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@lru_cache(maxsize=1024)
def real_module(name: str, safe: frozenset[str]) -> types.ModuleType | None:
    """The standard-library module ``name`` when it may be introspected, else None."""
    if top(name) not in sys.stdlib_module_names:
        return None
    if top(name) not in safe and top(name) not in _ALWAYS_LOADED:
        return None
    module = sys.modules.get(name)
    if module is None:
        try:
            module = importlib.import_module(name)
        except Exception:  # not importable on this Python: the heuristic decides
            return None
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    if origin and origin not in ("built-in", "frozen"):
        where = Path(origin).resolve()
        if not any(where.is_relative_to(folder) for folder in _STDLIB):
            return None  # a file shadowing the stdlib module: do not trust it
    return module


def _lookup(dotted: str, safe: frozenset[str]) -> tuple[bool, object]:
    """(True, the object) when ``dotted`` resolves in an introspectable stdlib module;
    (False, None) when its root may not be introspected."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        owner = real_module(".".join(parts[:cut]), safe)
        if owner is None:
            continue
        value: object = owner
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for part in parts[cut:]:
                value = getattr(value, part, None)
        return True, value
    return False, None


def is_module(dotted: str, safe: frozenset[str]) -> bool:
    """``dotted`` (``os.path`` in ``from os import path``) is a module, as far as one can
    tell without importing anything outside the safe standard library."""
    if dotted in sys.stdlib_module_names:
        return True
    known, value = _lookup(dotted, safe)
    return known and isinstance(value, types.ModuleType)


def foreign_module(owner: str, attr: str, safe: frozenset[str]) -> str | None:
    """The name of the module ``owner.attr`` leads to when that is a module outside the
    safe set and not one of ``owner``'s own submodules; None otherwise."""
    known, value = _lookup(f"{owner}.{attr}", safe)
    if known:
        if not isinstance(value, types.ModuleType):
            return None  # a function, class or constant (or no such attribute at all)
        name = value.__name__
        if sys.modules.get(f"{owner}.{attr}") is value or name == f"{owner}.{attr}":
            return None  # its own submodule (os.path is posixpath, registered as os.path)
        return None if top(name) in safe else name
    guess = _RENAMED.get(attr, attr)
    # time.time, select.select: a module's namesake attribute is its main function
    namesake = attr == owner.rpartition(".")[2]
    if guess in sys.stdlib_module_names and guess not in safe and not namesake:
        return guess
    return None
