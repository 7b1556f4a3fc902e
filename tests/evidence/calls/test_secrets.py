"""The API key never reaches the evidence: not from headers, the query, the URL's userinfo,
a body that echoes it back, a cookie, nor an error message."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import anthropic
import httpx
import openai
import requests

import theseus
from theseus.evidence.calls import redact

from .conftest import KEY, FakeAPI, only_task


def _stored_text(store: Path) -> str:
    """Everything the store and its journal hold, as text."""
    record = only_task(store)
    files = [p for p in store.parent.rglob("*") if p.is_file()]
    raw = "".join(p.read_bytes().decode("utf-8", "replace") for p in files)
    return json.dumps(record.model_dump(mode="json")) + raw


def test_the_key_never_appears_in_the_stored_record(api: FakeAPI, store: Path) -> None:
    host = api.url.removeprefix("http://")

    @theseus.task
    def handle() -> str:
        answers = []
        client = openai.OpenAI(base_url=f"{api.url}/v1", api_key=KEY, max_retries=0)
        answers.append(client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        ).id)  # fmt: skip
        claude = anthropic.Anthropic(base_url=api.url, api_key=KEY, max_retries=0)
        answers.append(claude.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        ).id)  # fmt: skip
        echoed = httpx.get(
            f"{api.url}/echo",
            params={"api_key": KEY, "q": "1"},
            headers={"Authorization": f"Bearer {KEY}", "X-Custom-Token": KEY, "Cookie": f"s={KEY}"},
        ).json()
        assert echoed["query"]["api_key"] == [KEY]  # it did reach the server
        answers.append(requests.post(
            f"http://user:{KEY}@{host}/echo?key={KEY}", json={"note": f"my key is {KEY}"},
            headers={"x-api-key": KEY, "api-key": KEY, "proxy-authorization": f"Basic {KEY}"},
        ).json()["body"]["note"])  # fmt: skip
        requests.post(f"{api.url}/echo", data={"grant_type": "x", "client_secret": KEY})
        httpx.post(f"{api.url}/echo", json={"login": {"user": "ann", "password": KEY}})
        with contextlib.suppress(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:9/?token={KEY}", headers={"x-api-key": KEY}, timeout=2)
        return str(KEY in answers[-1])

    assert handle() == "True"  # the agent got the echoed key back; the evidence must not
    text = _stored_text(store)
    at = text.find(KEY)
    assert at < 0, text[max(0, at - 400) : at + 100]
    assert KEY[:12] not in text  # not even a prefix of it
    calls = only_task(store).calls
    assert len(calls) == 7
    assert calls[4].request["body"] == "grant_type=x&client_secret=%5Bredacted%5D"
    assert calls[5].request["body"] == {"login": {"user": "ann", "password": "[redacted]"}}
    assert calls[0].request["body"]["model"] == "m"  # a model call's body is as it was
    echo = calls[2]
    assert echo.request["url"] == f"{api.url}/echo?q=1"
    assert set(echo.request["headers"]) <= redact.KEPT_REQUEST
    assert echo.response["body"]["headers"]["Authorization"] == "Bearer [redacted]"
    assert "set-cookie" not in echo.response["headers"]
    assert calls[3].request["url"] == f"{api.url}/echo"
    assert calls[3].request["body"] == {"note": "my key is [redacted]"}


def test_redacting_a_url_drops_credentials_and_keeps_the_rest() -> None:
    url, secrets = redact.redact_url(
        "https://u:p4ssw0rd-long@h.example/v1/x?api-version=2024&api_key=AAAAAAAAAA&sig=BBBBBBBBBB&q=a+b"
    )
    assert url == "https://h.example/v1/x?api-version=2024&q=a+b"
    assert set(secrets) == {"p4ssw0rd-long", "AAAAAAAAAA", "BBBBBBBBBB"}
    assert redact.redact_url("https://h/x?q=1") == ("https://h/x?q=1", ())


def test_bearer_tokens_are_taken_apart_for_scrubbing() -> None:
    secrets = redact.secrets_of([("Authorization", f"Bearer {KEY}"), ("accept", "x" * 20)])
    assert KEY in secrets and f"Bearer {KEY}" in secrets and len(secrets) == 2
    assert redact.scrub(f'{{"k": "{KEY}"}}'.encode(), secrets) == b'{"k": "[redacted]"}'
