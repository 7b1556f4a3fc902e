"""Replay with the server stopped: the recorded answers come back, the same, and nothing
reaches the network; a call the recording lacks is an ``unrecorded_call``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
import requests

import theseus
from theseus.errors import EvidenceError
from theseus.evidence import sdk
from theseus.evidence.calls import MAX_RECORDED_BYTES, UnrecordedCall, replay_calls

from .conftest import KEY, FakeAPI, call_dicts, only_task


def _agent(base: str) -> Callable[[str], str]:
    """A small agent: a model call (sync), a streamed one, an HTTP lookup and a tool."""

    @theseus.tool
    def charge(amount: int, *, currency: str = "EUR") -> dict[str, Any]:
        charged.append(amount)
        return {"charged": amount, "currency": currency, "ref": f"ch-{len(charged)}"}

    charged: list[int] = []

    @theseus.task
    def handle(message: str) -> str:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0)
        first = client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": message}]
        )
        stream = client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "more"}], stream=True
        )
        streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
        lookup = requests.get(f"{base}/lookup", params={"q": message}).json()
        receipt = charge(int(lookup["n"]))
        return f"{first.choices[0].message.content}|{streamed}|{lookup['n']}|{receipt['ref']}"

    handle.charged = charged  # type: ignore[attr-defined]
    return handle


def _record(api: FakeAPI, store: Path, run: Callable[[], Any]) -> tuple[Any, list[dict[str, Any]]]:
    result = run()
    record = only_task(store)
    api.stop()  # replay must not need it
    sdk.configure(store=store, enabled=False)  # as in the sandbox: replay records nothing
    return result, call_dicts(record)


def test_replay_with_the_server_stopped_returns_the_same_result(api: FakeAPI, store: Path) -> None:
    handle = _agent(api.url)
    result, calls = _record(api, store, lambda: handle("hello"))
    assert result == "reply 1 to hello|reply 2 to more|3|ch-1"
    assert handle.charged == [3]  # type: ignore[attr-defined]
    seen = len(api.requests)
    with replay_calls(calls) as session:
        assert handle("hello") == result
    assert session.unrecorded == [] and (session.used, session.unused) == (4, 0)
    assert handle.charged == [3]  # type: ignore[attr-defined]  # the tool body did not run
    assert len(api.requests) == seen


def test_async_clients_and_anthropic_streams_replay(api: FakeAPI, store: Path) -> None:
    @theseus.task
    async def handle(message: str) -> str:
        client = openai.AsyncOpenAI(base_url=f"{api.url}/v1", api_key=KEY, max_retries=0)
        reply = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": message}]
        )
        claude = anthropic.AsyncAnthropic(base_url=api.url, api_key=KEY, max_retries=0)
        async with claude.messages.stream(
            model="claude-test", max_tokens=10, messages=[{"role": "user", "content": "t"}]
        ) as events:
            text = await events.get_final_text()
        async with httpx.AsyncClient() as http:
            status = (await http.get(f"{api.url}/status")).json()
        return f"{reply.choices[0].message.content}|{text}|{status['n']}"

    result, calls = _record(api, store, lambda: asyncio.run(handle("hey")))
    assert result == "reply 1 to hey|reply 2 to t|3"
    with replay_calls(calls) as session:
        assert asyncio.run(handle("hey")) == result
    assert session.unrecorded == [] and session.used == 3


def test_sync_anthropic_and_httpx_replay(api: FakeAPI, store: Path) -> None:
    @theseus.task
    def handle() -> str:
        claude = anthropic.Anthropic(base_url=api.url, api_key=KEY, max_retries=0)
        message = claude.messages.create(
            model="claude-test", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
        with httpx.Client() as http:
            posted = http.post(f"{api.url}/items", json={"name": "x"}).json()
            zipped = http.get(f"{api.url}/gzip").json()
        return f"{message.content[0].text}|{posted['n']}|{zipped['n']}"  # type: ignore[union-attr]

    result, calls = _record(api, store, handle)
    with replay_calls(calls) as session:
        assert handle() == result
    assert session.unrecorded == []


def test_a_changed_prompt_is_an_unrecorded_call(api: FakeAPI, store: Path) -> None:
    handle = _agent(api.url)
    _, calls = _record(api, store, lambda: handle("hello"))
    with replay_calls(calls) as session, pytest.raises(UnrecordedCall) as raised:
        handle("HELLO")
    assert str(raised.value).startswith("unrecorded_call: POST ")
    assert "/v1/chat/completions" in str(raised.value)
    [missing] = session.unrecorded
    assert (
        missing["seq"] == 0 and missing["kind"] == "model" and missing["reason"] == "not_recorded"
    )
    assert missing["request"]["body"]["messages"][0]["content"] == "HELLO"
    assert set(missing) >= {"seq", "kind", "target", "fingerprint", "request"}


def test_an_agent_that_swallows_the_error_still_leaves_it_listed(api: FakeAPI, store: Path) -> None:
    @theseus.task
    def handle(path: str) -> str:
        try:
            return str(httpx.get(f"{api.url}/{path}").json()["n"])
        except Exception as exc:
            return f"fallback: {exc}"

    _, calls = _record(api, store, lambda: handle("a"))
    with replay_calls(calls) as session:
        answer = handle("b")
    assert answer.startswith("fallback: unrecorded_call: GET ")
    assert [u["target"].rsplit("/", 1)[-1] for u in session.unrecorded] == ["b"]
    assert session.unused == 1


def test_matching_is_by_order_then_by_fingerprint(api: FakeAPI, store: Path) -> None:
    @theseus.task
    def handle(paths: list[str]) -> list[int]:
        return [int(httpx.get(f"{api.url}/{p}").json()["n"]) for p in paths]

    _, calls = _record(api, store, lambda: handle(["a", "b", "a"]))
    with replay_calls(calls) as session:  # the same calls, reordered, one inserted twice
        assert handle(["b", "a", "a"]) == [2, 1, 3]
    assert session.unrecorded == [] and session.used == 3
    assert session.matched == [(0, 1), (1, 0), (2, 2)]
    with replay_calls(calls) as session, pytest.raises(UnrecordedCall):
        handle(["a", "a", "a"])  # a third "a" was never recorded
    assert [u["seq"] for u in session.unrecorded] == [2]


def test_a_truncated_call_is_reported_not_served(api: FakeAPI, store: Path) -> None:
    @theseus.task
    def handle() -> int:
        return len(httpx.get(f"{api.url}/big?n={MAX_RECORDED_BYTES + 10}").content)

    _, calls = _record(api, store, handle)
    with replay_calls(calls) as session, pytest.raises(UnrecordedCall, match="size cap"):
        handle()
    assert session.unrecorded[0]["reason"] == "truncated"


def test_no_network_io_happens_during_replay(api: FakeAPI, store: Path) -> None:
    other = FakeAPI().start()  # a live server the recording never saw
    try:
        failures: list[BaseException] = []

        def in_a_thread() -> None:  # no inherited context: the process-wide session holds
            try:
                requests.get(f"{other.url}/from-thread")
            except BaseException as exc:
                failures.append(exc)

        with replay_calls([]) as session:
            with pytest.raises(UnrecordedCall):
                httpx.get(f"{other.url}/direct")
            thread = threading.Thread(target=in_a_thread)
            thread.start()
            thread.join()
        assert other.requests == []
        assert isinstance(failures[0], UnrecordedCall)
        assert len(session.unrecorded) == 2
        assert httpx.get(f"{other.url}/after").json()["n"] == 1  # and after it, as before
    finally:
        other.stop()


def test_recorded_http_errors_are_raised_again(store: Path) -> None:
    @theseus.task
    def handle() -> str:
        try:
            httpx.get("http://127.0.0.1:9/nothing-listens-here", timeout=2)
        except httpx.ConnectError as exc:
            return f"down: {type(exc).__name__}"
        return "up"

    assert handle() == "down: ConnectError"
    [call] = only_task(store).calls
    assert call.error is not None and call.error.startswith("httpx.ConnectError: ")
    sdk.configure(store=store, enabled=False)
    with replay_calls(call_dicts(only_task(store))) as session:
        assert handle() == "down: ConnectError"
    assert session.unrecorded == []


def test_bad_arguments_are_told_in_one_line() -> None:
    with pytest.raises(EvidenceError, match="needs forward="), replay_calls([], "forward"):
        pass
    with pytest.raises(EvidenceError, match="not a policy"), replay_calls([], "skip"):  # type: ignore[arg-type]
        pass
    bogus = [{"seq": 0, "kind": "bogus"}]
    with (
        pytest.raises(EvidenceError, match="recorded call 0 is not a RecordedCall"),
        replay_calls(bogus),
    ):
        pass


def test_streams_read_through_requests_replay(api: FakeAPI, store: Path) -> None:
    @theseus.task
    def handle() -> list[str]:
        body = {"model": "m", "messages": [{"role": "user", "content": "go"}], "stream": True}
        with requests.post(f"{api.url}/v1/chat/completions", json=body, stream=True) as reply:
            return [line.decode() for line in reply.iter_lines() if line]

    result, calls = _record(api, store, handle)
    assert result[-1] == "data: [DONE]" and len(result) == 3
    assert calls[0]["kind"] == "model" and calls[0]["response"]["stream"] is True
    with replay_calls(calls) as session:
        assert handle() == result
    assert session.unrecorded == []
