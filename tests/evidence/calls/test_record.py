"""Recording inside a real ``@theseus.task``: the real openai / anthropic SDKs (sync, async,
streaming), httpx and requests against a real local server, into a real store."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
import requests

import theseus
from theseus.evidence import sdk
from theseus.evidence.calls import captures, wire

from .conftest import KEY, FakeAPI, only_task, tasks


def _openai(api: FakeAPI) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key=KEY, max_retries=0)


def test_model_http_and_tool_calls_are_recorded_in_order(api: FakeAPI, store: Path) -> None:
    @theseus.tool
    def lookup(order_id: int) -> dict[str, int]:
        return {"order": order_id, "total": 42}

    @theseus.task
    def handle(message: str) -> str:
        client = _openai(api)
        first = client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": message}]
        )
        order = lookup(7)
        claude = anthropic.Anthropic(base_url=api.url, api_key=KEY, max_retries=0)
        second = claude.messages.create(
            model="claude-test", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
        status = httpx.get(f"{api.url}/status").json()
        plain = requests.post(f"{api.url}/submit", json={"a": 1}).json()
        return f"{first.choices[0].message.content}|{order['total']}|{second.content[0].text}|{status['n']}|{plain['n']}"  # type: ignore[union-attr]

    reply = handle("hello")
    assert reply == "reply 1 to hello|42|reply 2 to hi|3|4"
    record = only_task(store)
    assert [(c.seq, c.kind, c.target) for c in record.calls] == [
        (0, "model", f"POST {api.url}/v1/chat/completions"),
        (1, "tool", lookup.__theseus_tool__.name),  # type: ignore[attr-defined]
        (2, "model", f"POST {api.url}/v1/messages"),
        (3, "http", f"GET {api.url}/status"),
        (4, "http", f"POST {api.url}/submit"),
    ]
    chat, tool, messages, status, plain = record.calls
    assert chat.request["body"]["messages"] == [{"role": "user", "content": "hello"}]
    assert chat.request["headers"]["content-type"] == "application/json"
    assert chat.response["status"] == 200
    assert chat.response["body"]["choices"][0]["message"]["content"] == "reply 1 to hello"
    assert tool.request == {"args": [7], "kwargs": {}}
    assert tool.response == {"order": 7, "total": 42} and tool.error is None
    assert messages.response["body"]["content"][0]["text"] == "reply 2 to hi"
    assert status.response["body"]["n"] == 3 and plain.request["body"] == {"a": 1}
    assert all(len(c.fingerprint) == 64 for c in record.calls)
    assert len({c.fingerprint for c in record.calls}) == 5
    assert all(c.duration_ms > 0 for c in record.calls)


def test_streams_are_recorded_as_the_bytes_consumed(api: FakeAPI, store: Path) -> None:
    @theseus.task
    def handle() -> str:
        stream = _openai(api).chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "s"}], stream=True
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
        claude = anthropic.Anthropic(base_url=api.url, api_key=KEY, max_retries=0)
        with claude.messages.stream(
            model="claude-test", max_tokens=10, messages=[{"role": "user", "content": "t"}]
        ) as events:
            text += "|" + events.get_final_text()
        return text

    assert handle() == "reply 1 to s|reply 2 to t"
    chat, messages = only_task(store).calls
    assert chat.request["body"]["stream"] is True
    assert chat.response["stream"] is True  # the SDK stops at [DONE], before the end is seen
    body = chat.response["body"]
    assert isinstance(body, str) and body.startswith("data: {") and body.endswith("[DONE]\n\n")
    assert "event: message_stop" in messages.response["body"]


def test_a_stream_left_early_records_what_was_read(api: FakeAPI, store: Path) -> None:
    @theseus.task
    def handle() -> str:
        with httpx.Client() as client, client.stream("GET", f"{api.url}/big?n=300000") as r:
            first = next(r.iter_raw(1000))
        return str(len(first))

    assert handle() == "1000"
    [call] = only_task(store).calls
    assert call.response["complete"] is False
    body = call.response["body"]  # the agent read at least 1000 bytes, and not all of them
    assert isinstance(body, str) and 1000 <= len(body) < 300000


def test_async_clients_are_recorded(api: FakeAPI, store: Path) -> None:
    @theseus.task
    async def handle(message: str) -> str:
        client = openai.AsyncOpenAI(base_url=f"{api.url}/v1", api_key=KEY, max_retries=0)
        reply = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": message}]
        )
        async with httpx.AsyncClient() as http:
            status = (await http.get(f"{api.url}/status")).json()
        return f"{reply.choices[0].message.content}|{status['n']}"

    assert asyncio.run(handle("hey")) == "reply 1 to hey|2"
    chat, status = only_task(store).calls
    assert (chat.kind, status.kind) == ("model", "http")
    assert chat.response["body"]["choices"][0]["message"]["content"] == "reply 1 to hey"


def test_a_task_without_calls_records_an_empty_list(store: Path) -> None:
    @theseus.task
    def handle(x: int) -> int:
        return x + 1

    assert handle(1) == 2
    assert only_task(store).calls == []


def test_calls_belong_to_the_outermost_task_and_nested_keep_their_own(
    api: FakeAPI, store: Path
) -> None:
    @theseus.task
    def inner() -> int:
        return int(httpx.get(f"{api.url}/inner").json()["n"])

    @theseus.task
    def outer() -> int:
        before = httpx.get(f"{api.url}/before").json()["n"]
        return int(before) + inner() + int(httpx.get(f"{api.url}/after").json()["n"])

    assert outer() == 6
    by_function = {r.function.rsplit(".", 1)[-1]: r for r in tasks(store)}
    assert [c.target.rsplit("/", 1)[-1] for c in by_function["outer"].calls] == [
        "before",
        "inner",
        "after",
    ]
    assert [c.seq for c in by_function["outer"].calls] == [0, 1, 2]
    [nested] = by_function["inner"].calls
    assert nested.seq == 0 and nested.target.endswith("/inner")


def test_outside_a_task_and_with_recording_off_nothing_is_captured(
    api: FakeAPI, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert httpx.get(f"{api.url}/free").json()["n"] == 1

    @theseus.task
    def handle() -> int:
        return int(httpx.get(f"{api.url}/x").json()["n"])

    monkeypatch.setenv("THESEUS_RECORD", "0")
    assert handle() == 2
    monkeypatch.delenv("THESEUS_RECORD")
    sdk.configure(store=store, enabled=False)
    assert handle() == 3
    sdk.configure(store=store)
    assert handle() == 4
    [record] = tasks(store)
    assert [c.target.rsplit("/", 1)[-1] for c in record.calls] == ["x"]


def test_a_recording_failure_never_breaks_the_call(
    api: FakeAPI, store: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("capture exploded")

    @theseus.task
    def handle() -> str:
        reply = _openai(api).chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "x"}]
        )
        with httpx.stream("GET", f"{api.url}/stream") as r:
            streamed = r.read()
        return f"{reply.choices[0].message.content}|{len(streamed)}"

    caplog.set_level(logging.WARNING, logger="theseus.evidence")
    monkeypatch.setattr(captures.HttpCapture, "feed", broken)  # while the agent reads
    monkeypatch.setattr(wire, "describe", broken)  # and when the task ends
    monkeypatch.setattr(captures, "describe", broken)
    assert handle().startswith("reply 1 to x|")
    record = only_task(store)
    assert record.error is None and record.calls == []  # the calls were lost, not the task
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "capture exploded" in warnings[0].getMessage()


def test_gzip_bodies_are_recorded_decoded(api: FakeAPI, store: Path) -> None:
    @theseus.task
    def handle() -> int:
        return int(httpx.get(f"{api.url}/gzip").json()["n"]) + int(
            requests.get(f"{api.url}/gzip").json()["n"]
        )

    assert handle() == 3
    via_httpx, via_requests = only_task(store).calls
    assert via_httpx.response["body"] == {"n": 1} and via_requests.response["body"] == {"n": 2}
    assert "content-encoding" not in via_httpx.response["headers"]


def test_the_size_cap_truncates_and_says_so(api: FakeAPI, store: Path) -> None:
    @theseus.task
    def handle() -> int:
        small = len(httpx.get(f"{api.url}/big?n=100").content)
        return small + len(httpx.get(f"{api.url}/big?n={captures.MAX_RECORDED_BYTES}").content)

    assert handle() == 100 + captures.MAX_RECORDED_BYTES
    small, big = only_task(store).calls
    assert small.response["body"] == "x" * 100
    assert big.response["body"] == {wire.TRUNCATED: captures.MAX_RECORDED_BYTES}
    assert big.response["status"] == 200


def test_importing_the_sdk_imports_no_http_library() -> None:
    code = (
        "import sys, theseus\n"
        "theseus.task; theseus.tool\n"
        "import theseus.evidence.sdk, theseus.evidence.calls.record\n"
        "loaded = [m for m in ('httpx', 'httpx2', 'requests', 'openai', 'anthropic')"
        " if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
