"""The scripted model server keeps its contract: wire formats the real SDKs parse, auth and
model checks that consume no step, a FIFO script, and every request body recorded."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import anthropic
import openai
import pytest
from scripted_llm import (
    ScriptedLLMServer,
    delay,
    error,
    malformed,
    refusal,
    text,
    tool_calls,
)

USER = [{"role": "user", "content": "hi"}]


def post(url: str, body: dict[str, Any], **headers: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def oa(server: ScriptedLLMServer, key: str = "test-key") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=5)


def an(server: ScriptedLLMServer, key: str = "test-key") -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=server.anthropic_base_url, api_key=key, max_retries=0, timeout=5
    )


def test_openai_sdk_parses_text_tool_calls_and_usage(llm_server: ScriptedLLMServer) -> None:
    llm_server.script(
        text("hello", input_tokens=7, output_tokens=3),
        tool_calls([("read", {"path": "a.py"}), ("raw", "not json")], text="looking"),
        refusal("no"),
    )
    client = oa(llm_server)
    first = client.chat.completions.create(model="scripted-model", messages=USER)
    assert first.choices[0].message.content == "hello"
    assert first.usage is not None and first.usage.prompt_tokens == 7
    assert first.usage.completion_tokens == 3
    second = client.chat.completions.create(model="scripted-model", messages=USER)
    calls = second.choices[0].message.tool_calls or []
    assert second.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in calls] == ["read", "raw"]
    assert json.loads(calls[0].function.arguments) == {"path": "a.py"}
    assert calls[1].function.arguments == "not json"
    third = client.chat.completions.create(model="scripted-model", messages=USER)
    assert third.choices[0].message.refusal == "no"
    assert third.choices[0].finish_reason == "content_filter"
    assert llm_server.remaining() == 0
    assert llm_server.paths == ["/v1/chat/completions"] * 3
    assert llm_server.requests[0]["messages"] == USER


def test_anthropic_sdk_parses_text_tool_use_and_usage(llm_server: ScriptedLLMServer) -> None:
    llm_server.script(
        text("hello", input_tokens=11, output_tokens=2),
        tool_calls([("read", {"path": "a.py"})]),
        refusal(),
    )
    client = an(llm_server)
    first = client.messages.create(model="scripted-model", max_tokens=10, messages=USER)
    assert first.content[0].type == "text" and first.content[0].text == "hello"
    assert (first.usage.input_tokens, first.usage.output_tokens) == (11, 2)
    assert first.stop_reason == "end_turn"
    second = client.messages.create(model="scripted-model", max_tokens=10, messages=USER)
    assert second.stop_reason == "tool_use"
    block = second.content[0]
    assert block.type == "tool_use" and block.name == "read" and block.input == {"path": "a.py"}
    third = client.messages.create(model="scripted-model", max_tokens=10, messages=USER)
    assert third.stop_reason == "refusal"
    assert llm_server.paths == ["/v1/messages"] * 3


def test_wrong_key_and_unknown_model_consume_no_step(llm_server: ScriptedLLMServer) -> None:
    llm_server.script(text("kept"))
    with pytest.raises(openai.AuthenticationError):
        oa(llm_server, key="wrong").chat.completions.create(model="scripted-model", messages=USER)
    with pytest.raises(openai.NotFoundError) as missing:
        oa(llm_server).chat.completions.create(model="gpt-nope", messages=USER)
    assert "gpt-nope" in str(missing.value)
    with pytest.raises(anthropic.AuthenticationError):
        an(llm_server, key="wrong").messages.create(
            model="scripted-model",
            max_tokens=5,
            messages=USER,
        )
    with pytest.raises(anthropic.NotFoundError):
        an(llm_server).messages.create(model="claude-nope", max_tokens=5, messages=USER)
    assert llm_server.remaining() == 1
    assert len(llm_server.requests) == 4


def test_anthropic_accepts_x_api_key_header(llm_server: ScriptedLLMServer) -> None:
    llm_server.script(text("ok"))
    url = llm_server.anthropic_base_url + "/v1/messages"
    status, _, body = post(
        url, {"model": "scripted-model", "messages": USER}, **{"x-api-key": "test-key"}
    )
    assert status == 200 and json.loads(body)["content"][0]["text"] == "ok"
    status, _, body = post(url, {"model": "scripted-model"}, **{"x-api-key": "bad"})
    assert status == 401 and json.loads(body)["error"]["type"] == "authentication_error"


def test_errors_carry_retry_after_and_provider_shape(llm_server: ScriptedLLMServer) -> None:
    llm_server.script(error(429, "slow down", retry_after=0.25), error(529))
    auth = {"Authorization": "Bearer test-key"}
    status, headers, body = post(
        llm_server.base_url + "/chat/completions", {"model": "scripted-model"}, **auth
    )
    assert status == 429 and headers["retry-after"] == "0.25"
    assert json.loads(body)["error"] == {
        "message": "slow down",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    status, _, body = post(
        llm_server.anthropic_base_url + "/v1/messages", {"model": "scripted-model"}, **auth
    )
    assert status == 529 and json.loads(body)["error"]["type"] == "overloaded_error"


def test_exhausted_script_is_a_500_the_sdk_does_not_retry(llm_server: ScriptedLLMServer) -> None:
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="test-key", max_retries=3)
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError, match="script exhausted"):
        client.chat.completions.create(model="scripted-model", messages=USER)
    assert time.monotonic() - started < 0.4
    assert len(llm_server.requests) == 1


def test_malformed_body_is_sent_verbatim(llm_server: ScriptedLLMServer) -> None:
    llm_server.script(malformed("{not json"))
    status, _, body = post(
        llm_server.base_url + "/chat/completions",
        {"model": "scripted-model"},
        Authorization="Bearer test-key",
    )
    assert (status, body) == (200, "{not json")


def test_delay_outlasts_a_client_timeout(llm_server: ScriptedLLMServer) -> None:
    llm_server.script(delay(2.0, text("late")), text("on time"))
    client = openai.OpenAI(
        base_url=llm_server.base_url, api_key="test-key", max_retries=0, timeout=0.2
    )
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="scripted-model", messages=USER)
    reply = client.chat.completions.create(model="scripted-model", messages=USER)
    assert reply.choices[0].message.content == "on time"


def test_unknown_route_is_404_and_stop_is_idempotent() -> None:
    server = ScriptedLLMServer(models=("m",)).start()
    status, _, _ = post(server.anthropic_base_url + "/v2/other", {})
    assert status == 404
    server.stop()
    server.stop()
    assert server.remaining() == 0
