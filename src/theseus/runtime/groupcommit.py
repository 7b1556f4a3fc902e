"""Group commit on the event loop: what every message of one loop pass needs written, in one
transaction, each message awaiting its own item being durable.

The service must not answer a message before its session state and its evidence are on
disk (a crash right after the reply would otherwise lose what the client was told
happened). One SQLite transaction per message does that at a commit per message. Here a
message queues its item and awaits a future; the first item of a loop pass schedules one
flush at the end of that pass, which commits *all* items queued by then, so under load many
messages share a commit, and when idle a message waits for exactly one. Durability per item
is unchanged: its future resolves only after the commit that holds it.

Why on the loop and not a writer thread: a commit in WAL mode with ``synchronous=NORMAL`` is
tens of microseconds of work, while handing an item to a thread and its result back costs
two cross-CPU wake-ups per message, which on a virtual machine cost more than the commit
(measured: ``benchmarks/serve_cost.py``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommitter"]

T = TypeVar("T")
R = TypeVar("R")


class GroupCommitter(Generic[T, R]):
    """``commit(items) -> results`` (one per item, in order), once per loop pass."""

    def __init__(self, commit: Callable[[Sequence[T]], Sequence[R]]) -> None:
        self._commit = commit
        self._pending: list[tuple[T, asyncio.Future[R] | None]] = []
        self._scheduled = False
        self._closed = False
        self.commits = 0  # transactions run: fewer than items, under load
        self.items = 0

    async def submit(self, item: T) -> R:
        """Queue ``item``; return its result once the transaction holding it committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._put(item, future, loop)
        return await future

    def post(self, item: T) -> None:
        """Queue ``item`` without waiting for it; it commits with, or before, whatever is
        submitted after it. Outside a running loop it commits at once."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        self._put(item, None, loop)

    def _put(
        self, item: T, future: asyncio.Future[R] | None, loop: asyncio.AbstractEventLoop | None
    ) -> None:
        if self._closed:
            raise RuntimeError("the writer is closed")
        self._pending.append((item, future))
        if loop is None:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Commit everything queued, now, and resolve its waiters."""
        self._scheduled = False
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            results = list(self._commit([item for item, _ in batch]))
            error: BaseException | None = None
        except Exception as exc:  # every waiter learns it; the next pass tries again
            results, error = [], exc
        self.commits += 1
        self.items += len(batch)
        if error is not None and any(future is None for _, future in batch):
            print(f"theseus: a queued write failed: {error}", file=sys.stderr)
        for n, (_, future) in enumerate(batch):
            if future is None or future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(results[n])

    def close(self) -> None:
        """Write what is queued; nothing more is accepted."""
        self.flush()
        self._closed = True
