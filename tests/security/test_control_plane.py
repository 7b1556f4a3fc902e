"""Attacks on the live service's control plane, each of which got through before.

A network client with no credential tries to deploy an arbitrary commit, roll back, read
events, metrics, versions and another customer's session, send 50 MB bodies; a client with
the credential tries to deploy a commit no gate promoted; and ``theseus serve`` is asked to
listen beyond loopback with no credential configured. Every attack must be contained.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentrepo import fresh_settings, make_repo

from theseus.change import Candidate
from theseus.config import Settings
from theseus.lineage import Archive, AuditLog
from theseus.lineage.audit import AUDIT_FILE
from theseus.lineage.db import DB_FILE
from theseus.runtime.auth import SESSION_HEADER
from theseus.runtime.http import create_app
from theseus.runtime.supervisor import Supervisor

pytestmark = pytest.mark.e2e

TOKEN = "attack-test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("control") / "agent"
    return root, make_repo(root)


_settings = fresh_settings


Scenario = Callable[[httpx.AsyncClient, Supervisor], Awaitable[None]]


def _serve(settings: Settings, start: str, scenario: Scenario) -> list[tuple[str, dict[str, Any]]]:
    """Run ``scenario`` against the real app over ASGI; the runtime events it emitted."""
    emitted: list[tuple[str, dict[str, Any]]] = []

    async def go() -> None:
        sup = Supervisor(settings, on_event=lambda kind, payload: emitted.append((kind, payload)))
        await sup.start(start)
        transport = httpx.ASGITransport(app=create_app(sup, admin_token=TOKEN))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await scenario(client, sup)
        finally:
            await sup.close()

    asyncio.run(asyncio.wait_for(go(), 120))
    return emitted


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/deploy", {"commit": "HEAD"}),
        ("POST", "/rollback", {}),
        ("GET", "/events", None),
        ("GET", "/metrics", None),
        ("GET", "/versions", None),
    ],
)
def test_the_control_plane_refuses_a_client_without_the_credential(
    repo: tuple[Path, dict[str, str]], tmp_path: Path, method: str, path: str, body: Any
) -> None:
    root, commits = repo
    answers: list[int] = []

    async def attack(client: httpx.AsyncClient, sup: Supervisor) -> None:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-wrong-token"},
            {"Authorization": TOKEN},
        ):
            response = await client.request(method, path, json=body, headers=headers)
            answers.append(response.status_code)
            assert response.json()["error"]["type"] == "unauthorized"
        assert sup.router is not None and sup.router.current == commits["v1"]

    _serve(_settings(root, tmp_path / ".theseus"), commits["v1"], attack)
    assert answers == [401, 401, 401]


def test_a_deploy_of_a_commit_no_gate_promoted_is_refused_and_force_is_audited(
    repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, commits = repo

    async def attack(client: httpx.AsyncClient, sup: Supervisor) -> None:
        refused = await client.post("/deploy", json={"commit": commits["v2"]}, headers=ADMIN)
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "refused"
        assert sup.router is not None and sup.router.current == commits["v1"]
        forced = await client.post(
            "/deploy",
            json={"commit": commits["v2"], "force": True, "actor": "alice"},
            headers=ADMIN,
        )
        assert forced.status_code == 200, forced.text
        assert sup.router.current == commits["v2"]

    events = _serve(_settings(root, tmp_path / ".theseus"), commits["v1"], attack)
    forced = [p for kind, p in events if kind == "deploy" and p.get("event") == "forced"]
    assert forced == [{"event": "forced", "version": commits["v2"], "actor": "alice"}]


def test_a_commit_the_gate_promoted_deploys_without_force(
    repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, commits = repo
    state = tmp_path / ".theseus"
    state.mkdir()
    archive = Archive(state / DB_FILE)
    candidate = archive.add(Candidate.create(base_commit=commits["v1"], diff="d", proposer="t"))
    for status in ("verified", "approved", "promoted"):
        archive.set_status(candidate.id, status, "test", actor="test")
    archive.close()
    AuditLog(state / AUDIT_FILE).append(
        "deploy", {"candidate": candidate.id, "commit": commits["v2"], "live": None}
    )

    async def deploy(client: httpx.AsyncClient, sup: Supervisor) -> None:
        done = await client.post("/deploy", json={"commit": commits["v2"]}, headers=ADMIN)
        assert done.status_code == 200, done.text
        # a rolled-back fix is no longer admitted
        archive = Archive(state / DB_FILE)
        archive.set_status(candidate.id, "rolled_back", "health", actor="runtime")
        archive.close()
        again = await client.post("/deploy", json={"commit": commits["v1"]}, headers=ADMIN)
        assert again.status_code == 403

    _serve(_settings(root, state), commits["v1"], deploy)


def test_a_session_belongs_to_the_client_that_started_it(
    repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, commits = repo

    async def attack(client: httpx.AsyncClient, sup: Supervisor) -> None:
        first = await client.post("/sessions/alice/messages", json={"message": "x"})
        assert first.status_code == 200
        own = {SESSION_HEADER: first.json()["session_token"]}
        # another client: cannot read alice's state, nor talk in her session
        assert (await client.get("/sessions/alice")).status_code == 401
        stolen = {SESSION_HEADER: "guessed-token-guessed-token"}
        assert (await client.get("/sessions/alice", headers=stolen)).status_code == 401
        hijack = await client.post("/sessions/alice/messages", json={"message": "x"})
        assert hijack.status_code == 401 and "count" not in hijack.text
        # alice herself, and the operator, can
        mine = await client.get("/sessions/alice", headers=own)
        assert mine.status_code == 200 and mine.json()["messages"] == 1
        assert (await client.get("/sessions/alice", headers=ADMIN)).status_code == 200
        again = await client.post("/sessions/alice/messages", json={"message": "x"}, headers=own)
        assert again.json()["reply"]["count"] == 2 and "session_token" not in again.json()

    _serve(_settings(root, tmp_path / ".theseus"), commits["v1"], attack)


def test_oversized_bodies_get_413_and_are_not_recorded(
    repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, commits = repo
    big = b'{"message": "' + b"A" * (50 * 1024 * 1024) + b'"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 1 << 20):
            yield big[start : start + (1 << 20)]

    async def attack(client: httpx.AsyncClient, sup: Supervisor) -> None:
        declared = await client.post(
            "/sessions/big/messages", content=big, headers={"content-type": "application/json"}
        )
        assert declared.status_code == 413
        streamed = await client.post(  # no Content-Length: the cap holds while reading
            "/sessions/big2/messages",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert streamed.status_code == 413
        assert sup.sessions.get("big") is None and sup.sessions.get("big2") is None
        small = await client.post("/sessions/small/messages", json={"message": "x"})
        assert small.status_code == 200

    _serve(_settings(root, tmp_path / ".theseus"), commits["v1"], attack)


def test_serve_refuses_a_public_address_without_a_configured_credential(
    repo: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = repo
    monkeypatch.delenv("THESEUS_ADMIN_TOKEN", raising=False)
    done = subprocess.run(
        [sys.executable, "-m", "theseus.cli.main", "serve", "--project", str(root),
         "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
