"""``@theseus.tool``: recorded with the task, served in replay without running its body."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest

import theseus
from theseus.evidence import sdk
from theseus.evidence.calls import RecordedError, UnrecordedCall, replay_calls

from .conftest import FakeAPI, call_dicts, only_task, tasks


class OutOfStock(Exception):
    pass


ran: list[str] = []


@theseus.tool
def reserve(item: str, count: int = 1) -> dict[str, Any]:
    ran.append(f"reserve {item}")
    if item == "gone":
        raise OutOfStock(f"no {item} left")
    return {"item": item, "count": count, "ids": (1, 2)}


@theseus.tool(name="mail.send")
async def send_mail(to: str, body: str) -> str:
    ran.append(f"mail {to}")
    await asyncio.sleep(0)
    return f"sent to {to}"


@pytest.fixture(autouse=True)
def fresh() -> None:
    ran.clear()


def _replayable(store: Path) -> list[dict[str, Any]]:
    calls = call_dicts(only_task(store))
    sdk.configure(store=store, enabled=False)
    ran.clear()
    return calls


def test_outside_a_task_a_tool_is_the_plain_function() -> None:
    assert reserve("pen") == {"item": "pen", "count": 1, "ids": (1, 2)}
    assert asyncio.run(send_mail("a@b", "hi")) == "sent to a@b"
    assert ran == ["reserve pen", "mail a@b"]
    assert reserve.__name__ == "reserve" and send_mail.__name__ == "send_mail"


def test_calls_are_recorded_with_arguments_results_and_errors(store: Path) -> None:
    @theseus.task
    async def handle() -> str:
        got = reserve("pen", count=2)
        with contextlib.suppress(OutOfStock):
            reserve("gone")
        return await send_mail("a@b", body=str(got["count"]))

    assert asyncio.run(handle()) == "sent to a@b"
    first, failed, mail = only_task(store).calls
    assert first.kind == failed.kind == mail.kind == "tool"
    assert first.target.endswith(":reserve") and mail.target == "mail.send"
    assert first.request == {"args": ["pen"], "kwargs": {"count": 2}}
    assert first.response == {"item": "pen", "count": 2, "ids": [1, 2]}
    assert failed.response is None
    assert failed.error == f"{OutOfStock.__module__}.OutOfStock: no gone left"
    assert mail.request == {"args": ["a@b"], "kwargs": {"body": "2"}}


def test_replay_serves_tools_without_running_them(store: Path) -> None:
    @theseus.task
    async def handle(item: str) -> str:
        try:
            got = reserve(item, 3)
        except OutOfStock as exc:
            return f"sorry: {exc}"
        return await send_mail("a@b", body=str(got["count"]))

    assert asyncio.run(handle("pen")) == "sent to a@b"
    assert asyncio.run(handle("gone")) == "sorry: no gone left"
    stored = sorted(call_dicts_of_all(store), key=len)
    sdk.configure(store=store, enabled=False)
    ran.clear()
    failing, working = stored
    with replay_calls(working) as session:  # positional 3 binds as count=3: the same call
        assert asyncio.run(handle("pen")) == "sent to a@b"
    with replay_calls(failing) as failing_session:  # the recorded error, its own class
        assert asyncio.run(handle("gone")) == "sorry: no gone left"
    assert ran == []
    assert session.unrecorded == failing_session.unrecorded == []


def call_dicts_of_all(store: Path) -> list[list[dict[str, Any]]]:
    return [call_dicts(record) for record in tasks(store)]


def test_an_unrecorded_tool_call_fails_and_does_not_run(store: Path) -> None:
    @theseus.task
    def handle(item: str) -> dict[str, Any]:
        return reserve(item)

    handle("pen")
    calls = _replayable(store)
    with replay_calls(calls) as session, pytest.raises(UnrecordedCall, match="unrecorded_call: "):
        handle("ink")
    assert ran == []
    [missing] = session.unrecorded
    assert missing["kind"] == "tool" and missing["request"] == {"args": ["ink"], "kwargs": {}}


def test_an_error_whose_class_is_gone_comes_back_named_after_it(store: Path) -> None:
    @theseus.task
    def handle() -> str:
        return str(reserve("pen"))

    handle()
    calls = _replayable(store)
    calls[0]["response"], calls[0]["error"] = None, "vanished.module.Boom: it broke"
    with replay_calls(calls), pytest.raises(RecordedError) as raised:
        handle()
    assert type(raised.value).__name__ == "Boom" and str(raised.value) == "it broke"
    assert isinstance(raised.value, RuntimeError)


def test_a_result_json_cannot_hold_is_not_served(store: Path) -> None:
    @theseus.tool
    def make() -> object:
        return object()

    @theseus.task
    def handle() -> str:
        return type(make()).__name__

    assert handle() == "object"
    calls = _replayable(store)
    with replay_calls(calls) as session, pytest.raises(UnrecordedCall, match="not JSON"):
        handle()
    assert session.unrecorded[0]["reason"] == "unserializable"


def test_calls_made_inside_a_tool_belong_to_the_tool(api: FakeAPI, store: Path) -> None:
    @theseus.tool
    def fetch(path: str) -> int:
        return int(httpx.get(f"{api.url}/{path}").json()["n"])

    @theseus.task
    def handle() -> int:
        return fetch("inside") + int(httpx.get(f"{api.url}/outside").json()["n"])

    assert handle() == 3
    calls = _replayable(store)
    api.stop()
    assert [(c["kind"], c["target"].rsplit("/", 1)[-1]) for c in calls] == [
        ("tool", fetch.__theseus_tool__.name),  # type: ignore[attr-defined]
        ("http", "outside"),
    ]
    with replay_calls(calls) as session:
        assert handle() == 3
    assert (session.used, session.unused, session.unrecorded) == (2, 0, [])
