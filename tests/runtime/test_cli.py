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
        first = httpx.post(f"{url}/sessions/c/messages", json={"message": "x"}).json()
        assert first["reply"]["count"] == 1
        own = {"X-Theseus-Session-Token": first["session_token"]}

        project = ("--project", str(root), "--url", url)
        refused = _theseus("deploy", commits["v2"], *project)
        assert refused.returncode == 2 and "not a commit the gate promoted" in refused.stderr
        done = _theseus("deploy", commits["v2"], *project, "--force", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["version"] == commits["v2"]
        answer = httpx.post(f"{url}/sessions/c/messages", json={"message": "x"}, headers=own)
        reply = answer.json()["reply"]
        assert reply == {"count": 2, "version": "v2", "migrations": 1, "pid": reply["pid"]}

        unknown = _theseus("deploy", "no-such-commit", *project)
        assert (
            unknown.returncode == 4
            and "no commit" in unknown.stderr
            and "Traceback" not in unknown.stderr
        )

        back = _theseus("rollback", *project, "--json")
        assert back.returncode == 0, back.stderr
        assert json.loads(back.stdout)["to"] == commits["v1"]

        token = (root / ".theseus" / "admin.token").read_text().strip()
        admin = {"Authorization": f"Bearer {token}"}
        versions = httpx.get(f"{url}/versions", headers=admin).json()["versions"]
        workers = [pid for row in versions for pid in row["workers"]]
        assert workers
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    assert serve.returncode == 0, serve.stderr.read().decode() if serve.stderr else ""
    time.sleep(0.2)
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    audit = [
        json.loads(line) for line in (root / ".theseus" / "audit.jsonl").read_text().splitlines()
    ]
    kinds = [record["kind"] for record in audit]
    assert "deploy" in kinds and "rollback" in kinds
    forced = [r for r in audit if r["payload"].get("event") == "forced"]
    assert forced and forced[0]["payload"]["version"] == commits["v2"]
    assert forced[0]["actor"] == forced[0]["payload"]["actor"] != "runtime"


def test_cli_without_a_service_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THESEUS_ADMIN_TOKEN", "a-credential-long-enough")
    done = _theseus("rollback", "--url", f"http://127.0.0.1:{_port()}")
    assert done.returncode == 2 and "cannot reach the service" in done.stderr
