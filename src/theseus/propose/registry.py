"""Proposers by name: the one place ``[propose] proposers = [...]`` is turned into objects.

Each proposer registers itself in its own module, with the factory that builds it from the
settings and the time it may spend on one failure batch::

    @register_proposer("repair", seconds=lambda settings: settings.propose.repair.max_seconds)
    def _repair(settings: Settings, shared: SharedResources) -> Proposer:
        return RepairProposer(...)

so adding a proposer touches one file (and, for a built-in one, one import line in
``theseus.propose``, whose import registers the built-in proposers). A proposer shipped in another package registers
under the ``theseus.proposers`` entry-point group (the value is the module that calls
``register_proposer``), as pytest finds its plugins; it is loaded the first time a name is
looked up that is not built in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar

from theseus.config import Settings
from theseus.errors import ConfigError, TheseusError
from theseus.propose.base import Proposer

__all__ = [
    "ENTRY_POINT_GROUP",
    "ProposerFactory",
    "RegisteredProposer",
    "SharedResources",
    "build_proposers",
    "register_proposer",
    "registered_proposers",
    "search_seconds",
]

ENTRY_POINT_GROUP = "theseus.proposers"


_T = TypeVar("_T")


@dataclass
class SharedResources:
    """What the proposers of one cycle share instead of each making its own, by key: e.g.
    the model client (the ``llm`` and ``agent`` proposers talk to the same endpoint)."""

    settings: Settings
    _made: dict[str, Any] = field(default_factory=dict, repr=False)

    def once(self, key: str, make: Callable[[], _T]) -> _T:
        """``make()`` the first time ``key`` is asked for, the same object after that."""
        if key not in self._made:
            self._made[key] = make()
        value: _T = self._made[key]
        return value


ProposerFactory = Callable[[Settings, SharedResources], Proposer]


@dataclass(frozen=True)
class RegisteredProposer:
    """One proposer's entry: how to build it, and how long it may search one batch."""

    name: str
    factory: ProposerFactory
    seconds: Callable[[Settings], float]


_REGISTRY: dict[str, RegisteredProposer] = {}
_loaded = {"entry_points": False}


def register_proposer(
    name: str, *, seconds: Callable[[Settings], float]
) -> Callable[[ProposerFactory], ProposerFactory]:
    """Register ``factory`` under ``name`` (a decorator); a name may be taken only once."""

    def add(factory: ProposerFactory) -> ProposerFactory:
        known = _REGISTRY.get(name)
        if known is not None and known.factory is not factory:
            raise ConfigError(
                f"two proposers are registered as {name!r}",
                hint="give the new proposer a name of its own",
            )
        _REGISTRY[name] = RegisteredProposer(name, factory, seconds)
        return factory

    return add


def registered_proposers() -> dict[str, RegisteredProposer]:
    """Every proposer known so far by name: the built-in ones and the entry points."""
    _load_entry_points()
    return dict(_REGISTRY)


def lookup(name: str) -> RegisteredProposer:
    """The entry for ``name``; a ConfigError listing the known names when there is none."""
    if name not in _REGISTRY:
        _load_entry_points()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ConfigError(
            f"[propose] proposers names {name!r}, which is not a registered proposer",
            hint=f"use one of: {known}, or install the package that provides it",
        )
    return _REGISTRY[name]


def build_proposers(settings: Settings, note: Callable[[str], None]) -> list[Proposer]:
    """The configured proposers, in order; one note (and a skip) for each that cannot run.

    A model proposer whose key is missing, or a command whose program is not installed,
    must not stop evolution: the other proposers (the offline repair engine first) carry
    on, and the note says what to fix. An unknown name is a ConfigError: a typo in the
    config should not silently leave a proposer out.
    """
    entries = [lookup(name) for name in settings.propose.proposers]
    shared = SharedResources(settings)
    found: list[Proposer] = []
    for entry in entries:
        try:
            found.append(entry.factory(settings, shared))
        except TheseusError as exc:
            note(f"proposer {entry.name!r} skipped: {exc.line()}")
    return found


def search_seconds(proposer: Proposer, settings: Settings) -> float:
    """How long ``proposer`` may search for one batch (the cycle's budget caps it too)."""
    return lookup(proposer.name).seconds(settings)


def _load_entry_points() -> None:
    if _loaded["entry_points"]:
        return
    _loaded["entry_points"] = True
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            point.load()
        except Exception as exc:  # a broken plugin must not hide the built-in proposers
            raise ConfigError(
                f"the proposer plugin {point.name!r} ({point.value}) failed to load: "
                f"{type(exc).__name__}: {exc}",
                hint="fix or uninstall the package that provides it",
            ) from exc
