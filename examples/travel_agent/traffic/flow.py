"""How traffic flows: its pace, its supply of conversations, and sessions side by side.

Kept apart from judging (``drive``) because the same judge runs in two shapes: a fixed set of
conversations played once, and a steady background stream against a live service while
evolution swaps versions under it. The stream must be light on a small machine (``Pacer``:
a shared next-send time, threads sleep until their slot, never spin), must never reuse a
session id the service has already seen (``fresh_scripts``, ``tagged``), and must end
cleanly, between two messages, when told to stop (every wait is on the ``stop`` event).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from traffic.generate import Script, generate

BATCH = 50  # conversations generated at a time by fresh_scripts


class Pacer:
    """At most ``rate`` sends per second across every thread (None: no limit).

    Each send reserves the next free slot under a lock and sleeps until it; a sender that
    fell behind does not earn a burst later (the slot never lies in the past).
    """

    def __init__(self, rate: float | None, stop: threading.Event) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.stop = stop
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def wait(self) -> bool:
        """Block until this send's slot; False when ``stop`` was set meanwhile."""
        if not self.interval:
            return not self.stop.is_set()
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            return not self.stop.wait(slot - now)
        return not self.stop.is_set()


def derived_seed(seed: int, batch: int) -> int:
    """A seed for batch ``batch`` of a stream started with ``seed`` (stable, well spread)."""
    digest = hashlib.sha256(f"{seed}:{batch}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def fresh_scripts(seed: int, *, run: str | None = None) -> Iterator[Script]:
    """New conversations without end: batch k is generated from ``derived_seed(seed, k)``;
    session ids carry ``run`` (random unless given), so two streams against one service never
    continue each other's sessions, whose state the oracle could not know."""
    token = run or uuid.uuid4().hex[:8]
    for batch in itertools.count():
        for number, script in enumerate(generate(BATCH, derived_seed(seed, batch))):
            yield replace(script, session_id=f"s{seed}.{token}.{batch}-{number:05d}")


def tagged(scripts: Iterable[Script], run: str | None = None) -> Iterator[Script]:
    """``scripts`` with ``run`` (random unless given) in their session ids: ``s7-00003``
    becomes ``s7.<run>-00003``. A service keeps every session it has seen, so a second run of
    the same seed against it would otherwise continue old sessions and be judged wrongly."""
    token = run or uuid.uuid4().hex[:8]
    for script in scripts:
        prefix, _, number = script.session_id.rpartition("-")
        yield replace(script, session_id=f"{prefix}.{token}-{number}")


def until(scripts: Iterable[Script], deadline: float) -> Iterator[Script]:
    """``scripts`` while ``time.monotonic()`` is before ``deadline``."""
    for script in scripts:
        if time.monotonic() >= deadline:
            return
        yield script


def fan_out(
    scripts: Iterable[Script],
    play: Callable[[Script], None],
    concurrency: int,
    stop: threading.Event,
) -> None:
    """``play`` every script, ``concurrency`` at a time (each script's messages stay in order
    inside its ``play``); no new script starts once ``stop`` is set. An exception in one
    thread stops the rest and is raised here."""
    source = iter(scripts)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def take() -> Script | None:
        with lock:
            return None if stop.is_set() else next(source, None)

    def work() -> None:
        try:
            while (script := take()) is not None:
                play(script)
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    if concurrency == 1:
        work()
    else:
        threads = [
            threading.Thread(target=work, name=f"traffic-{n}", daemon=True)
            for n in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
