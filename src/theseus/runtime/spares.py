"""The next deploy's warm parent, kept ready: when to start one, and when to stop trying.

:mod:`theseus.runtime.warm` is one warm parent; this is the supervisor's policy for them.
After every pool start a spare is started in the background (it preloads what the live
version imported from its environment); a deploy takes it, waiting if it is still starting,
since that is never slower than a cold start. When a spare cannot fork safely because the
agent's imports start threads, spares stop preloading them (said once, as an event); when
even a bare one cannot start, warm deploys are off for this supervisor (said once) and
every worker starts cold, as with ``[runtime] warm_deploys = false``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from theseus.runtime.failures import DeployFailed
from theseus.runtime.isolation import WorkerProfile
from theseus.runtime.warm import WarmParent

__all__ = ["Spares"]

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
Emit = Callable[[str, dict[str, Any]], None]


class Spares:
    """At most one spare warm parent, started ahead of the deploy that will use it."""

    def __init__(
        self,
        *,
        enabled: bool,
        store: Path,
        log: Path,
        env: Callable[[], dict[str, str]],
        profile: WorkerProfile | None,
        spawn: Spawn,
        emit: Emit,
    ) -> None:
        self.store, self.log, self.env, self.profile = store, log, env, profile
        self.spawn, self.emit = spawn, emit
        self.off: str | None = None if enabled else "runtime.warm_deploys = false"
        self.preload_off: str | None = None  # why spares no longer preload the agent's imports
        self.preload: list[str] = []
        self.pending: asyncio.Task[WarmParent | None] | None = None
        self.closed = False

    def prepare(self, imported: list[str] | None = None) -> None:
        """Start the next spare in the background, unless one is on its way; ``imported``
        is what the live version's worker loaded from outside its tree."""
        if imported:
            self.preload = imported
        if self.off is None and not self.closed and self.pending is None:
            preload = [] if self.preload_off is not None else list(self.preload)
            self.pending = self.spawn(self._start(preload))

    async def take(self) -> WarmParent | None:
        """The spare for a deploy, or None to start cold."""
        task, self.pending = self.pending, None
        if task is None or self.closed:
            return None
        try:
            parent = await task
        except (asyncio.CancelledError, Exception):
            return None
        return parent if parent is not None and parent.alive else None

    async def close(self) -> None:
        """Stop the spare, started or starting."""
        self.closed = True
        task, self.pending = self.pending, None
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                parent = await task
                if parent is not None:
                    await parent.close()

    async def _start(self, preload: list[str]) -> WarmParent | None:
        parent = WarmParent(self.store, self.env(), self.profile, self.log)
        try:
            await parent.start(preload)
        except (DeployFailed, OSError) as exc:
            await parent.close()
            reason = exc.line() if isinstance(exc, DeployFailed) else str(exc)
            self._off(f"the warm parent did not start: {reason}")
            return None
        if parent.forkable:
            return parent
        await parent.close()
        if preload:  # the agent's imports are not fork-safe: preload only the runtime
            self.preload_off = parent.reason
            self.emit("deploy", {"event": "warm_preload_off", "reason": parent.reason})
            return await self._start([])
        self._off(parent.reason)
        return None

    def _off(self, reason: str) -> None:
        self.off = reason
        self.emit("deploy", {"event": "warm_deploys_off", "reason": reason})
