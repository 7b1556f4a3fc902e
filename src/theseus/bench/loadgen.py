"""A load generator over HTTP: many concurrent sessions, each sending messages in order.

Every request is kept (when it was sent, how long it took, whether it failed), so latency
can be cut into windows around each swap after the run, and each session's successful
messages are counted so a lost session (the server's count disagrees) is caught.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from theseus.runtime.auth import SESSION_HEADER
from theseus.runtime.health import quantile


@dataclass(frozen=True)
class Request:
    sent: float  # wall clock, comparable with the server's event times
    latency_ms: float
    ok: bool
    status: int | None = None  # the HTTP status, None when no answer came


@dataclass
class Load:
    """Sessions sending messages to ``base`` until :meth:`stop`."""

    base: str
    sessions: int
    messages: list[Any]
    think_s: float = 0.02
    prefix: str = "bench"
    requests: list[Request] = field(default_factory=list)
    successes: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)  # session -> its headers
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def session_ids(self) -> list[str]:
        return [f"{self.prefix}-{i}" for i in range(self.sessions)]

    async def run(self) -> None:
        limits = httpx.Limits(
            max_connections=self.sessions + 8, max_keepalive_connections=self.sessions + 8
        )
        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=30.0) as client:
            await asyncio.gather(*(self._session(client, s) for s in self.session_ids))

    async def _session(self, client: httpx.AsyncClient, session: str) -> None:
        self.successes[session] = 0
        headers = self.tokens.setdefault(session, {})  # its token, once the first reply gave it
        for message in itertools.cycle(self.messages):
            if self._stop.is_set():
                return
            sent, started = time.time(), time.perf_counter()
            status = None
            try:
                response = await client.post(
                    f"/sessions/{session}/messages", json={"message": message}, headers=headers
                )
                status = response.status_code
                ok = status == 200
                if ok and "session_token" in response.json():
                    headers[SESSION_HEADER] = response.json()["session_token"]
            except httpx.TransportError:
                ok = False
            self.requests.append(
                Request(sent, (time.perf_counter() - started) * 1000.0, ok, status)
            )
            if ok:
                self.successes[session] += 1
            else:
                await asyncio.sleep(0.01)  # a down server: retry soon, without spinning
            await asyncio.sleep(self.think_s)

    def stop(self) -> None:
        self._stop.set()

    def window(self, start: float, end: float) -> dict[str, Any]:
        """Request count, failures and p50/p99 latency of requests sent in [start, end)."""
        chosen = [r for r in self.requests if start <= r.sent < end]
        latencies = sorted(r.latency_ms for r in chosen if r.ok)
        return {
            "requests": len(chosen),
            "failed": sum(not r.ok for r in chosen),
            "p50_ms": _round(quantile(latencies, 0.50)),
            "p99_ms": _round(quantile(latencies, 0.99)),
        }

    def downtime_s(self) -> float:
        """Longest stretch during which every request sent failed."""
        worst, first_fail = 0.0, None
        for request in sorted(self.requests, key=lambda r: r.sent):
            if not request.ok:
                first_fail = request.sent if first_fail is None else first_fail
            elif first_fail is not None:
                worst = max(worst, request.sent - first_fail)
                first_fail = None
        return worst

    async def lost_sessions(self, field_name: str = "messages") -> int:
        """Sessions whose server-side message count differs from the successes we saw."""
        lost = 0
        async with httpx.AsyncClient(base_url=self.base, timeout=30.0) as client:
            for session, count in self.successes.items():
                headers = self.tokens.get(session, {})
                response = await client.get(f"/sessions/{session}", headers=headers)
                if response.status_code != 200 or response.json().get(field_name) != count:
                    lost += 1
        return lost


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
