"""A client reports a wrong answer over HTTP: round trip, ownership, unknown ids, bad bodies."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from theseus.config import Settings
from theseus.evidence.store import EvidenceStore
from theseus.runtime.auth import SESSION_HEADER
from theseus.runtime.http import create_app
from theseus.runtime.supervisor import Supervisor

pytestmark = pytest.mark.e2e
TOKEN = "test-admin-token-0123456789"


def _serve(settings: Settings, start: str, body: Any) -> Any:
    async def go() -> Any:
        sup = Supervisor(settings)
        await sup.start(start)
        transport = httpx.ASGITransport(app=create_app(sup, admin_token=TOKEN))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await body(client)
        finally:
            await sup.close()

    return asyncio.run(asyncio.wait_for(go(), 120))


def test_a_client_reports_its_own_wrong_answer_and_it_becomes_evidence(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
        reply = (await client.post("/sessions/alice/messages", json={"message": "hi"})).json()
        token, task_id = reply["session_token"], reply["task_id"]
        assert task_id
        answer = await client.post(
            f"/tasks/{task_id}/reports",
            json={
                "kind": "wrong_answer",
                "expected": {"$theseus": "partial", "value": {"count": 99}},
                "note": "off by 98",
            },
            headers={SESSION_HEADER: token},
        )
        assert answer.status_code == 201, answer.text
        return task_id, answer.json()

    task_id, receipt = _serve(settings, commits["v1"], body)
    assert receipt["task_id"] == task_id and receipt["kind"] == "wrong_answer"
    with EvidenceStore(settings.evidence_path) as store:
        [report] = store.reports(task_id)
    assert report.id == receipt["report_id"]
    assert report.expected == {"$theseus": "partial", "value": {"count": 99}}
    assert report.has_expected and report.note == "off by 98"


def test_reports_are_refused_for_unknown_tasks_other_sessions_and_bad_bodies(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(client: httpx.AsyncClient) -> dict[str, int]:
        alice = (await client.post("/sessions/alice/messages", json={"message": "hi"})).json()
        bob = (await client.post("/sessions/bob/messages", json={"message": "hi"})).json()
        url = f"/tasks/{alice['task_id']}/reports"
        statuses = {
            "unknown task": (await client.post("/tasks/" + "f" * 32 + "/reports", json={},
                                               headers={"Authorization": f"Bearer {TOKEN}"})),
            "no token": await client.post(url, json={}),
            "another session's token": await client.post(
                url, json={}, headers={SESSION_HEADER: bob["session_token"]}
            ),
            "extra field": await client.post(
                url, json={"kind": "x", "evil": 1}, headers={SESSION_HEADER: alice["session_token"]}
            ),
            "bad severity": await client.post(
                url, json={"severity": "apocalyptic"},
                headers={SESSION_HEADER: alice["session_token"]},
            ),
            "blank kind": await client.post(
                url, json={"kind": "   "}, headers={SESSION_HEADER: alice["session_token"]}
            ),
            "expected with only some of the reply's keys": await client.post(
                url, json={"expected": {"count": 99}},
                headers={SESSION_HEADER: alice["session_token"]},
            ),
            "expected the reply already matches": await client.post(
                url, json={"expected": {"$theseus": "partial", "value": {"count": 1}}},
                headers={SESSION_HEADER: alice["session_token"]},
            ),
            "malformed matcher": await client.post(
                url, json={"expected": {"$theseus": "regex", "pattern": "("}},
                headers={SESSION_HEADER: alice["session_token"]},
            ),
            "admin may": await client.post(
                url, json={"kind": "complaint"}, headers={"Authorization": f"Bearer {TOKEN}"}
            ),
        }  # fmt: skip
        for name, response in statuses.items():
            if response.status_code >= 400:
                error = response.json()["error"]
                assert error["message"] and "Traceback" not in response.text, name
        return {name: r.status_code for name, r in statuses.items()}

    got = _serve(settings, commits["v1"], body)
    assert got == {
        "unknown task": 404,
        "no token": 401,
        "another session's token": 401,
        "extra field": 422,
        "bad severity": 422,
        "blank kind": 422,
        "expected with only some of the reply's keys": 400,
        "expected the reply already matches": 400,
        "malformed matcher": 400,
        "admin may": 201,
    }
    with EvidenceStore(settings.evidence_path) as store:
        assert [r.kind for r in store.reports()] == ["complaint"]
