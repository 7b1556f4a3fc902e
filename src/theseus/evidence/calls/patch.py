"""Patching the HTTP libraries: once per process, lazily, only those the process uses.

The first recording task (or the first replay) calls :func:`ensure_patched`. It patches the
transports of every supported library already imported (``httpx``, ``httpx2`` - the fork
the openai and anthropic SDKs are built on - and ``requests``) and puts a small finder at
the front of ``sys.meta_path`` that patches the others when, and if, they are imported
later: a library imported inside a task, on its first use, is recorded from that first use.
The finder answers only for those few names and steps aside once all are patched; after
the first call, :func:`ensure_patched` costs one global read. Nothing is ever unpatched:
outside a task a patched transport costs one context-variable lookup
(:func:`.scope.current`).

Patching happens at the transport, below everything the libraries do for the agent (auth,
redirects, retries, connection pools), and above the socket: what is recorded is each
request as it goes out and each response as it came in. A library left out (urllib, aiohttp,
a raw socket) is not recorded; in replay it is not served either, and the sandbox's missing
network refuses it.

A hand-written finder rather than ``wrapt.register_post_import_hook``: the same ~40 lines,
without a compiled dependency in every agent process for this one use.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from theseus.evidence.calls import http_httpx, http_requests

__all__ = ["PATCHERS", "ensure_patched", "patched"]

log = logging.getLogger("theseus.evidence")
PATCHERS: dict[str, Callable[[ModuleType], None]] = {
    "httpx": http_httpx.patch,
    "httpx2": http_httpx.patch,
    "requests": http_requests.patch,
}
_patched: set[str] = set()
_lock = threading.RLock()
_ready = False


def patched() -> frozenset[str]:
    """The library names patched so far in this process."""
    return frozenset(_patched)


def ensure_patched() -> None:
    """Patch the imported libraries now and the others when they are imported."""
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        for name in PATCHERS:
            module = sys.modules.get(name)
            if module is not None:
                _apply(name, module)
        if len(_patched) < len(PATCHERS) and not any(
            isinstance(f, _PatchOnImport) for f in sys.meta_path
        ):
            sys.meta_path.insert(0, _PatchOnImport())
        _ready = True


def _apply(name: str, module: ModuleType) -> None:
    with _lock:
        if name in _patched:
            return
        _patched.add(name)
        try:
            PATCHERS[name](module)
        except Exception as exc:  # a library version we do not know: it is not recorded
            log.warning("theseus: calls made through %s are not recorded: %s", name, exc)
        if len(_patched) == len(PATCHERS):
            sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PatchOnImport)]


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: asks the rest of ``sys.meta_path`` for a watched library's
    spec and wraps its loader, so the library is patched right after it has run."""

    def __init__(self) -> None:
        self._busy = threading.local()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in PATCHERS or fullname in _patched or getattr(self._busy, "on", False):
            return None
        self._busy.on = True
        try:
            spec = importlib.util.find_spec(fullname)
        except Exception:
            return None
        finally:
            self._busy.on = False
        if spec is None or spec.loader is None or isinstance(spec.loader, _PatchingLoader):
            return None
        spec.loader = _PatchingLoader(spec.loader, fullname)
        return spec


class _PatchingLoader(importlib.abc.Loader):
    """The library's own loader, then the patch; the module keeps its own loader."""

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        try:  # put the real loader back where the import machinery put this one
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self._loader
            spec = getattr(module, "__spec__", None)
            if spec is not None and spec.loader is self:
                spec.loader = self._loader
        except AttributeError:
            pass
        self._loader.exec_module(module)
        _apply(self._name, sys.modules.get(self._name, module))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
