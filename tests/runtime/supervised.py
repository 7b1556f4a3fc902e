"""Run a test body against a started :class:`Supervisor` and check it leaves nothing behind."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from theseus.config import Settings
from theseus.runtime.supervisor import Supervisor


def run(settings: Settings, start: str, body: Callable[[Supervisor], Awaitable[Any]]) -> Any:
    """Start a supervisor on ``start``, run ``body``, and check no worker outlives it."""

    async def go() -> Any:
        sup = Supervisor(settings)
        await sup.start(start)
        try:
            return await body(sup)
        finally:
            pids = [pid for pool in sup.pools.values() for pid in pool.pids]
            await sup.close()
            for pid in pids:
                assert not running(pid), f"worker {pid} outlived the supervisor"

    return asyncio.run(asyncio.wait_for(go(), 120))


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"
