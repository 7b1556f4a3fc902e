"""deploy_and_watch against a scripted service: healthy, rolled back (with the service's own
reason), refused, and a service that stops answering (never reported as a rollback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from theseus.runtime.client import DeployVerdict, deploy_and_watch

NEW, OLD = "b" * 40, "a" * 40
Route = Callable[[int], tuple[int, Any]]  # call number -> (status, JSON body or None)


@pytest.fixture
def service() -> Iterator[Callable[[dict[str, Route]], str]]:
    """Serve scripted routes on 127.0.0.1; the URL of the service."""
    servers: list[ThreadingHTTPServer] = []

    def start(routes: dict[str, Route]) -> str:
        calls: dict[str, int] = {}

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                path = self.path.split("?")[0]
                calls[path] = calls.get(path, 0) + 1
                if path not in routes:
                    self.send_error(404)
                    return
                status, body = routes[path](calls[path])
                raw = b"not json" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _deployed(n: int) -> tuple[int, Any]:
    return 200, {"commit": NEW, "cut_over_ms": 1.0}


def test_still_current_after_the_watch_is_healthy(service: Any) -> None:
    def health(n: int) -> tuple[int, Any]:
        return 200, {"current": NEW, "watching": NEW if n < 3 else None}

    url = service({"/deploy": _deployed, "/health": health})
    verdict = deploy_and_watch(url, NEW, health_window=5.0, grace=5.0)
    assert verdict.verdict == "healthy" and verdict.live == NEW


def test_a_rollback_carries_the_services_reason(service: Any) -> None:
    reason = "health regression: p95 latency 40.0 ms > 2 x baseline 12.0 ms"
    history = [
        {"event": "cut_over", "from": OLD, "to": NEW},
        {"event": "rollback", "from": NEW, "to": OLD, "reason": reason},
    ]
    url = service(
        {
            "/deploy": _deployed,
            "/health": lambda n: (200, {"current": OLD, "watching": None}),
            "/versions": lambda n: (200, {"versions": [], "history": history}),
        }
    )
    verdict = deploy_and_watch(url, NEW, health_window=5.0, grace=5.0)
    assert verdict.verdict == "rolled_back" and verdict.reason == reason
    assert verdict.live == OLD


def test_a_rollback_without_history_still_says_what_was_seen(service: Any) -> None:
    url = service(
        {"/deploy": _deployed, "/health": lambda n: (200, {"current": OLD, "watching": None})}
    )
    verdict = deploy_and_watch(url, NEW, health_window=5.0, grace=5.0)
    assert verdict.verdict == "rolled_back"
    assert "no longer the live version" in verdict.reason


def test_a_refused_deploy_is_deploy_failed_with_the_services_error(service: Any) -> None:
    url = service({"/deploy": lambda n: (409, {"error": "a deploy is already in progress"})})
    verdict = deploy_and_watch(url, NEW, health_window=5.0, grace=5.0)
    assert verdict == DeployVerdict("deploy_failed", "a deploy is already in progress")


def test_a_service_that_stops_answering_is_not_called_a_rollback(service: Any) -> None:
    url = service({"/deploy": _deployed, "/health": lambda n: (500, None)})
    verdict = deploy_and_watch(url, NEW, health_window=0.5, grace=0.5)
    assert verdict.verdict == "deploy_failed"
    assert "stopped answering /health" in verdict.reason


def test_an_unreachable_service_is_deploy_failed() -> None:
    verdict = deploy_and_watch("http://127.0.0.1:9", NEW, health_window=0.5, grace=0.5)
    assert verdict.verdict == "deploy_failed" and "unreachable" in verdict.reason
