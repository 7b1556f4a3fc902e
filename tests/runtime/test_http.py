"""The HTTP API: answers, views, and every bad request as a 4xx JSON error."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from theseus.config import Settings
from theseus.runtime.http import create_app
from theseus.runtime.supervisor import Supervisor

pytestmark = pytest.mark.e2e
TOKEN = "test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def test_api(settings: Settings, commits: dict[str, str]) -> None:
    async def go() -> None:
        sup = Supervisor(settings)
        await sup.start(commits["v1"])
        transport = httpx.ASGITransport(app=create_app(sup, admin_token=TOKEN))
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", headers=ADMIN
            ) as client:
                await check(client, commits)
        finally:
            await sup.close()

    asyncio.run(asyncio.wait_for(go(), 120))


async def check(client: httpx.AsyncClient, commits: dict[str, str]) -> None:
    ok = await client.post("/sessions/a/messages", json={"message": "hi"})
    assert ok.status_code == 200 and ok.json()["reply"]["count"] == 1
    assert (await client.get("/sessions/a")).json()["messages"] == 1
    health = await client.get("/health")
    assert health.status_code == 200 and health.json()["current"] == commits["v1"]
    versions = (await client.get("/versions")).json()["versions"]
    assert versions[0]["role"] == "current" and len(versions[0]["workers"]) == 2
    metrics = await client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE theseus_requests_total counter" in metrics.text
    assert 'theseus_requests_total{version="' in metrics.text

    bad: list[tuple[str, str, Any, int]] = [
        ("POST", "/sessions/a/messages", b"{not json", 422),
        ("POST", "/sessions/a/messages", {}, 422),
        ("POST", "/sessions/a/messages", {"message": 1, "extra": 2}, 422),
        ("POST", "/sessions/a/messages", [1, 2], 422),
        ("POST", "/sessions/has%20space/messages", {"message": 1}, 400),
        ("POST", "/sessions/" + "x" * 200 + "/messages", {"message": 1}, 400),
        ("GET", "/sessions/nobody", None, 404),
        ("GET", "/events?limit=0", None, 400),
        ("GET", "/events?limit=abc", None, 422),
        ("POST", "/deploy", {"commit": "no-such-ref"}, 404),
        ("POST", "/deploy", {"commit": "--help"}, 404),
        ("POST", "/deploy", {"commit": commits["v1"], "force": True}, 409),
        ("POST", "/deploy", {"commit": commits["v2"]}, 403),  # not promoted by the gate
        ("POST", "/deploy", {"commit": "x", "canary_share": 2}, 422),
        ("POST", "/deploy", {}, 422),
        ("POST", "/rollback", {}, 404),
        ("POST", "/rollback", {"version": "nope"}, 404),
        ("GET", "/no/such/route", None, 404),
        ("DELETE", "/health", None, 405),
    ]
    for method, path, body, status in bad:
        if isinstance(body, bytes):
            response = await client.request(
                method, path, content=body, headers={"content-type": "application/json"}
            )
        else:
            response = await client.request(method, path, json=body)
        assert response.status_code == status, (method, path, response.text)
        error = response.json()["error"]
        assert error["message"] and "Traceback" not in response.text

    boom = await client.post("/sessions/a/messages", json={"message": "boom"})
    assert boom.status_code == 502 and boom.json()["error"]["type"] == "agent_error"
    assert "Traceback" not in boom.text
