"""Which version answers a session's next message.

Routing is the only thing a cut-over or a rollback changes: both are an assignment to
``current`` under the event loop (no await in between), so they are atomic for every
request that has not been routed yet, and requests already in flight finish where they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass


def bucket(session_id: str) -> float:
    """A stable number in [0, 1) per session: the same session always lands in the same
    canary bucket, so a canary session never bounces between versions."""
    digest = hashlib.blake2b(session_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Route:
    """Where to run a message, and the version to migrate the state from (None: no migration)."""

    version: str
    migrate_from: str | None = None


class Router:
    """Current version, an optional canary, the last good version, and failed versions."""

    def __init__(self, current: str) -> None:
        self.current = current
        self.lineage: list[str] = [current]  # versions that were current, oldest first
        self.canary: str | None = None
        self.canary_share = 0.0
        self.failed: set[str] = set()

    def route(
        self, session_id: str, version: str | None, pinned: bool, alive: Callable[[str], bool]
    ) -> Route:
        """The route for one message of a session currently on ``version``."""
        if version is None:
            if self.canary is not None and bucket(session_id) < self.canary_share:
                return Route(self.canary)
            return Route(self.current)
        if version in (self.current, self.canary):
            return Route(version)
        if pinned and version not in self.failed and alive(version):
            return Route(version)
        return Route(self.current, migrate_from=version)

    @property
    def previous(self) -> str | None:
        """The last good version before ``current``: where a rollback goes by default."""
        for version in reversed(self.lineage):
            if version != self.current and version not in self.failed:
                return version
        return None

    def start_canary(self, version: str, share: float) -> None:
        self.canary, self.canary_share = version, share

    def cut_over(self, version: str) -> str:
        """Make ``version`` current; returns the version it replaced."""
        old = self.current
        self.current = version
        self.lineage = [v for v in self.lineage if v != version] + [version]
        self.canary, self.canary_share = None, 0.0
        return old

    def roll_back(self, failed: str | None, to: str) -> None:
        """Send traffic to ``to``; ``failed`` (if any) never gets new traffic again."""
        if failed is not None:
            self.failed.add(failed)
        if self.canary == failed:
            self.canary, self.canary_share = None, 0.0
        self.current = to
        self.lineage = [v for v in self.lineage if v not in (to, failed)] + [to]
