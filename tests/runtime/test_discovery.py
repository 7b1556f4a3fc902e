"""Finding the live service: `serve` records where it listens; the cycle and `deploy` read it.

The failure this prevents: a service on another port than ``[runtime] port`` was invisible,
so fixes were committed and never hot-swapped, silently."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from agentrepo import fresh_settings, make_repo

from theseus.config import Settings
from theseus.runtime.discovery import SERVICE_FILE, find_service, forget_service, record_service


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    root = tmp_path / "agent"
    make_repo(root)
    # a configured port where nothing listens, so only the record can find a service
    return fresh_settings(root, tmp_path / ".theseus", port=_free_port())


def test_a_recorded_service_on_another_port_is_found(
    settings: Settings, health_server: str
) -> None:
    assert find_service(settings).url is None
    record_service(settings, health_server)
    found = find_service(settings)
    assert found.url == health_server and "recorded by theseus serve" in found.how


def test_a_stale_record_is_ignored_and_the_reason_given(settings: Settings) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    body = {"url": "http://127.0.0.1:9", "pid": dead.pid, "started_at": time.time()}
    (settings.state_dir / SERVICE_FILE).parent.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / SERVICE_FILE).write_text(json.dumps(body))
    found = find_service(settings)
    assert found.url is None
    assert "has stopped" in found.how and "nothing answers at" in found.how


def test_a_given_url_wins_over_the_record(settings: Settings, health_server: str) -> None:
    record_service(settings, f"http://127.0.0.1:{_free_port()}")
    found = find_service(settings, health_server + "/")
    assert found.url == health_server and found.how == "given"


def test_forget_removes_only_this_process_record(settings: Settings, health_server: str) -> None:
    record_service(settings, health_server)
    path = settings.state_dir / SERVICE_FILE
    forget_service(settings)
    assert not path.exists()
    path.write_text(json.dumps({"url": health_server, "pid": os.getppid()}))  # another serve
    forget_service(settings)
    assert path.exists()


def test_theseus_serve_on_a_non_default_port_is_found_and_forgotten(
    tmp_path: Path, settings: Settings
) -> None:
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    env = {**os.environ, "THESEUS_ADMIN_TOKEN": "t" * 40}
    proc = subprocess.Popen(
        [sys.executable, "-m", "theseus.cli.main", "serve", "--project", str(settings.root),
         "--port", str(port)],
        cwd=settings.root, stdout=subprocess.DEVNULL, stderr=log, env=env,
    )  # fmt: skip
    record = settings.root / ".theseus" / SERVICE_FILE  # serve uses the project's own state
    try:
        for _ in range(600):
            if record.exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert record.exists(), (tmp_path / "serve.log").read_text()[-500:]
        project = fresh_settings(settings.root, settings.root / ".theseus")
        found = find_service(project)
        assert found.url == f"http://127.0.0.1:{port}", found.how
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    assert not record.exists()  # a stopped service leaves no record to follow
