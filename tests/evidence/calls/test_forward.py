"""The forward policy: calls the recording lacks go over a Unix socket to the host, which
sends them only to its one configured endpoint (a real local server here) and keeps them."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

import theseus
from theseus.errors import EvidenceError
from theseus.evidence import sdk
from theseus.evidence.calls import CallForwarder, ForwardClient, UnrecordedCall, replay_calls
from theseus.evidence.calls.wire import HttpRequest

from .conftest import KEY, FakeAPI, call_dicts, only_task


@pytest.fixture
def sock() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="fwd", dir="/tmp"))  # a Unix socket path is short
    yield folder / "calls.sock"
    shutil.rmtree(folder, ignore_errors=True)


def test_the_forwarder_sends_to_its_endpoint_and_keeps_what_it_sent(
    api: FakeAPI, sock: Path
) -> None:
    with CallForwarder(f"{api.url}/v1", sock, headers={"x-host-key": "host-secret-123456"}) as fwd:
        client = ForwardClient(sock)
        request = HttpRequest(
            "POST",
            f"{api.url}/echo?api_key={KEY}",
            [("content-type", "application/json"), ("authorization", f"Bearer {KEY}")],
            b'{"hello": "world"}',
        )
        served, record = client.send(request)
    assert served.status == 200
    echoed = httpx.Response(200, content=b"".join(served.chunks)).json()
    assert echoed["body"] == {"hello": "world"} and echoed["query"] == {"api_key": [KEY]}
    assert api.requests[0]["headers"]["x-host-key"] == "host-secret-123456"  # added on the host
    assert echoed["headers"]["x-host-key"] == "[redacted]"  # and never shown to the sandbox
    [kept] = fwd.forwarded
    assert kept["seq"] == 0 and kept["kind"] == "http"
    assert kept["target"] == f"POST {api.url}/echo"
    assert kept["fingerprint"] == record["fingerprint"] and len(kept["fingerprint"]) == 64
    assert kept["request"]["body"] == {"hello": "world"}
    assert kept["response"]["body"]["body"] == {"hello": "world"}
    text = str(fwd.forwarded)
    assert KEY not in text and "host-secret-123456" not in text
    assert not sock.exists()  # removed when it stopped


def test_the_forwarder_refuses_any_other_host(api: FakeAPI, sock: Path) -> None:
    other = FakeAPI().start()
    try:
        with CallForwarder(f"{api.url}/v1", sock) as fwd:
            client = ForwardClient(sock)
            for url in (f"{other.url}/x", "http://example.invalid/v1/things",
                        api.url.replace("http:", "https:") + "/x"):  # fmt: skip
                with pytest.raises(Exception, match="sends only to") as refused:
                    client.send(HttpRequest("GET", url, [], b""))
                assert getattr(refused.value, "reason", None) == "refused"
            assert other.requests == [] and api.requests == [] and fwd.forwarded == []
            assert len(fwd.refused) == 3
            # a model call is re-aimed at the configured model server, whatever host the
            # sandbox's SDK (holding none of the agent's endpoint settings) aimed it at
            body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
            client.send(
                HttpRequest(
                    "POST",
                    "https://api.openai.com/v1/chat/completions",
                    [("content-type", "application/json")],
                    body,
                )
            )
        assert other.requests == [] and [r["path"] for r in api.requests] == [
            "/v1/chat/completions"
        ]
        assert len(fwd.forwarded) == 1
    finally:
        other.stop()


def test_replay_forwards_what_the_recording_lacks(api: FakeAPI, store: Path, sock: Path) -> None:
    @theseus.tool
    def note(text: str) -> str:
        return text

    @theseus.task
    def handle(message: str) -> str:
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key=KEY, max_retries=0)
        reply = client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": message}], stream=True
        )
        return "".join(chunk.choices[0].delta.content or "" for chunk in reply)

    assert handle("hello") == "reply 1 to hello"
    calls = call_dicts(only_task(store))
    sdk.configure(store=store, enabled=False)
    with CallForwarder(f"{api.url}/v1", sock) as fwd:
        client = ForwardClient(sock)
        with replay_calls(calls, unrecorded="forward", forward=client) as session:
            assert handle("hello") == "reply 1 to hello"  # recorded: served, not forwarded
            assert handle("changed") == "reply 2 to changed"  # not recorded: forwarded
            with pytest.raises(UnrecordedCall, match="never forwarded"):
                note("x")  # a tool is never forwarded
    assert session.unrecorded[0]["reason"] == "tool" and len(session.unrecorded) == 1
    [forwarded] = fwd.forwarded
    assert forwarded["kind"] == "model" and forwarded["response"]["stream"] is True
    assert forwarded["request"]["body"]["messages"][0]["content"] == "changed"
    assert session.forwarded[0]["fingerprint"] == forwarded["fingerprint"]
    assert session.forwarded[0]["seq"] == 1
    assert len(api.requests) == 2  # the recording's, and the one forwarded


def test_a_refused_forward_is_an_unrecorded_call(api: FakeAPI, sock: Path) -> None:
    other = FakeAPI().start()
    try:
        with CallForwarder(f"{api.url}/v1", sock):
            client = ForwardClient(sock)
            with (
                replay_calls([], unrecorded="forward", forward=client) as session,
                pytest.raises(UnrecordedCall, match="sends only to"),
            ):
                httpx.get(f"{other.url}/x")
        assert session.unrecorded[0]["reason"] == "refused" and other.requests == []
    finally:
        other.stop()


def test_a_forwarder_that_is_not_there_is_an_unrecorded_call(sock: Path) -> None:
    with (
        replay_calls([], unrecorded="forward", forward=ForwardClient(sock)) as session,
        pytest.raises(UnrecordedCall, match="did not answer"),
    ):
        httpx.get("http://127.0.0.1:9/x")
    assert session.unrecorded[0]["reason"] == "forward_failed"


def test_a_bad_endpoint_is_told_in_one_line(sock: Path) -> None:
    with pytest.raises(EvidenceError, match="not an http"):
        CallForwarder("ftp://h/x", sock)
