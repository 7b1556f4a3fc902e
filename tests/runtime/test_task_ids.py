"""Task ids through the live runtime: the supervisor assigns one per attempt, the worker's
SDK records the agent's call under it, and the caller gets it back (reply or error detail)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentrepo import fresh_settings
from supervised import run

import theseus
from theseus.config import Settings
from theseus.evidence import sdk
from theseus.evidence.records import TaskRecord
from theseus.evidence.store import EvidenceStore
from theseus.runtime import deploy as swap
from theseus.runtime.failures import AgentError, CallTimedOut, WorkerCrashed
from theseus.runtime.http import create_app
from theseus.runtime.supervisor import Supervisor
from theseus.runtime.worker import Agent

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def tasks(settings: Settings) -> dict[str, TaskRecord]:
    with EvidenceStore(settings.evidence_path) as store:
        return {t.id: t for t in store.tasks()}


@pytest.mark.e2e
def test_replies_errors_and_timeouts_name_the_recorded_task(
    agent: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, commits = agent
    settings = fresh_settings(root, tmp_path / ".theseus", call_timeout=1.0)

    async def body(sup: Supervisor) -> dict[str, Any]:
        first, second = await sup.handle("a", "x"), await sup.handle("a", "x")
        with pytest.raises(AgentError) as raised:
            await sup.handle("a", "boom")
        with pytest.raises(CallTimedOut) as timed_out:
            await sup.handle("slow", {"sleep": 3})
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(create_app(sup, admin_token=None)), base_url="http://t"
        )
        async with client:
            ok = await client.post("/sessions/h/messages", json={"message": "x"})
            own = {"X-Theseus-Session-Token": ok.json()["session_token"]}
            boom = await client.post("/sessions/h/messages", json={"message": "boom"}, headers=own)
        return {
            "ids": [first.task_id, second.task_id],
            "agent_error": raised.value.detail,
            "timeout": timed_out.value.detail,
            "http_ok": (ok.status_code, ok.json()),
            "http_boom": (boom.status_code, boom.json()),
        }

    seen = run(settings, commits["v1"], body)
    records = tasks(settings)
    first, second = seen["ids"]
    assert HEX_ID.match(first) and HEX_ID.match(second) and first != second
    assert records[first].session_id == "a" and records[first].code_version == commits["v1"]
    assert records[first].output == {"count": 1, "version": "v1", "pid": pytest.approx(0, abs=1e9)}

    detail = seen["agent_error"]
    assert detail["version"] == commits["v1"] and detail["error_type"] == "ValueError"
    failed = records[detail["task_id"]]
    assert failed.error is not None and failed.error.type == "ValueError"

    detail = seen["timeout"]
    stuck = records[detail["task_id"]]
    assert stuck.error is not None and stuck.error.type == "theseus.runtime.CallTimedOut"
    assert stuck.session_id == "slow" and detail["version"] == commits["v1"]

    status, body_ok = seen["http_ok"]
    assert status == 200 and records[body_ok["task_id"]].session_id == "h"
    status, body_boom = seen["http_boom"]
    error = body_boom["error"]
    assert status == 502 and error["type"] == "agent_error"
    assert records[error["detail"]["task_id"]].error is not None


@pytest.mark.e2e
def test_a_crash_is_recorded_under_the_id_its_error_names(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> Any:
        with pytest.raises(WorkerCrashed) as crashed:
            await sup.handle("n", "die")
        return crashed.value.as_json()

    error = run(settings, commits["v1_non_idempotent"], body)["error"]
    assert error["type"] == "worker_crashed"
    record = tasks(settings)[error["detail"]["task_id"]]
    assert record.error is not None and record.error.type == "theseus.runtime.WorkerCrashed"
    assert record.session_id == "n" and record.input["args"][0] == "die"


@pytest.mark.e2e
def test_a_failed_migration_and_the_answer_after_it_have_different_ids(
    settings: Settings, commits: dict[str, str]
) -> None:
    async def body(sup: Supervisor) -> str | None:
        await sup.handle("p", "poison")
        await swap.deploy(sup, commits["v2"])
        result = await sup.handle("p", "x")  # migrate raises; answered on v1 instead
        assert result.reply["version"] == "v1"
        return result.task_id

    answered = run(settings, commits["v1"], body)
    records = tasks(settings)
    [migration] = [t for t in records.values() if t.error and "cannot migrate" in t.error.message]
    assert answered is not None and migration.id != answered
    assert records[answered].session_id == migration.session_id == "p"
    assert records[answered].error is None and records[answered].code_version == commits["v1"]


# -- the worker's side, in this process -----------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "evidence.db"
    sdk._reset_for_tests()
    sdk.configure(store=path)
    yield path
    sdk._reset_for_tests()


@theseus.task
def _decorated(message: Any, state: dict[str, Any]) -> Any:
    if message == "boom":
        raise KeyError("boom")
    return {"task": theseus.current_task_id()}


def _undecorated(message: Any, state: dict[str, Any]) -> Any:
    return {"plain": message}


def test_the_worker_hands_the_assigned_id_to_the_sdk_and_names_it(store: Path) -> None:
    agent = Agent(_decorated, None)
    wanted = "ab" * 16
    ok = agent.call({"session": "w", "task_id": wanted, "message": "hi", "state": {}})
    assert ok["ok"] and ok["task_id"] == wanted and ok["reply"] == {"task": wanted}
    failed = agent.call({"session": "w", "task_id": "cd" * 16, "message": "boom"})
    assert not failed["ok"] and failed["phase"] == "handle" and failed["task_id"] == "cd" * 16
    old_style = agent.call({"session": "w", "message": "hi"})  # a request without task_id
    assert old_style["ok"] and old_style["task_id"] is None
    plain = Agent(_undecorated, None).call({"session": "w", "task_id": "ef" * 16, "message": 3})
    assert plain["ok"] and plain["task_id"] is None  # no @task took the id: none is named
    with EvidenceStore(store) as db:
        ids = {t.id for t in db.tasks()}
    assert {wanted, "cd" * 16, old_style["reply"]["task"]} == ids


def test_a_malformed_id_in_a_request_is_replaced_not_stored(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    response = Agent(_decorated, None).call({"session": "w", "task_id": "x'; --", "message": 1})
    assert response["ok"] and HEX_ID.match(response["task_id"])
    assert response["reply"] == {"task": response["task_id"]}
    assert "replacing the assigned task id" in capsys.readouterr().err
    with EvidenceStore(store) as db:
        assert [t.id for t in db.tasks()] == [response["task_id"]]


def test_an_agent_without_the_sdk_answers_with_no_task_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "theseus.evidence.sdk")
    response = Agent(_undecorated, None).call({"session": "w", "task_id": "ab" * 16, "message": 2})
    assert response["ok"] and response["reply"] == {"plain": 2} and response["task_id"] is None
