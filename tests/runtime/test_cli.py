"""`theseus serve`, `deploy` and `rollback` as a person runs them: real processes, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _theseus(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "theseus.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_deploy_rollback_and_clean_shutdown(agent: tuple[Path, dict[str, str]]) -> None:
    root, commits = agent
    port = _port()
    url = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "theseus.cli.main",
            "serve",
            "--project",
            str(root),
            "--port",
            str(port),
            "--version",
            commits["v1"],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert serve.poll() is None, serve.stderr.read().decode() if serve.stderr else ""
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert (
            httpx.post(f"{url}/sessions/c/messages", json={"message": "x"}).json()["reply"]["count"]
            == 1
        )

        done = _theseus("deploy", commits["v2"], "--url", url, "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["version"] == commits["v2"]
        reply = httpx.post(f"{url}/sessions/c/messages", json={"message": "x"}).json()["reply"]
        assert reply == {"count": 2, "version": "v2", "migrations": 1, "pid": reply["pid"]}

        unknown = _theseus("deploy", "no-such-commit", "--url", url)
        assert (
            unknown.returncode == 4
            and "no commit" in unknown.stderr
            and "Traceback" not in unknown.stderr
        )

        back = _theseus("rollback", "--url", url, "--json")
        assert back.returncode == 0, back.stderr
        assert json.loads(back.stdout)["to"] == commits["v1"]

        workers = [
            pid for row in httpx.get(f"{url}/versions").json()["versions"] for pid in row["workers"]
        ]
        assert workers
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    assert serve.returncode == 0, serve.stderr.read().decode() if serve.stderr else ""
    time.sleep(0.2)
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    audit = (root / ".theseus" / "audit.jsonl").read_text().splitlines()
    kinds = [json.loads(line)["kind"] for line in audit]
    assert "deploy" in kinds and "rollback" in kinds


def test_cli_without_a_service_says_so() -> None:
    done = _theseus("rollback", "--url", f"http://127.0.0.1:{_port()}")
    assert done.returncode == 2 and "cannot reach the service" in done.stderr
