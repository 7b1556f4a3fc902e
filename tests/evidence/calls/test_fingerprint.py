"""Fingerprints: the same call hashes alike however it is spelled; a different one does not."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from theseus.evidence.calls import VOLATILE_BODY_FIELDS, http_fingerprint, tool_fingerprint
from theseus.evidence.calls.fingerprint import call_kind, target_of
from theseus.evidence.calls.wire import HttpRequest, describe

URL = "https://api.openai.com/v1/chat/completions"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "system"]), "content": st.text(max_size=20)}
    ),
    min_size=1,
    max_size=4,
)


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


def _request(body: dict[str, Any], url: str = URL, **headers: str) -> HttpRequest:
    pairs = [("content-type", "application/json"), *headers.items()]
    return HttpRequest("POST", url, pairs, json.dumps(body).encode())


@given(body=st.dictionaries(st.text(max_size=6), json_values, max_size=5), seed=st.integers())
def test_the_key_order_of_a_json_body_does_not_matter(body: dict[str, Any], seed: int) -> None:
    shuffled = _shuffled(body, random.Random(seed))
    assert describe(_request(body)).fingerprint == describe(_request(shuffled)).fingerprint


@given(
    msgs=messages,
    volatile=st.dictionaries(st.sampled_from(sorted(VOLATILE_BODY_FIELDS)), json_values),
    key=st.text(min_size=8, max_size=30, alphabet="abcdefghijklmnop0123456789-"),
)
def test_volatile_fields_headers_and_credentials_do_not_matter(
    msgs: list[dict[str, str]], volatile: dict[str, Any], key: str
) -> None:
    assume(key not in json.dumps(msgs))  # a key inside the prompt is scrubbed from it
    plain = describe(_request({"model": "gpt", "messages": msgs}))
    noisy = describe(
        _request(
            {"model": "gpt", "messages": msgs, **volatile},
            URL + f"?api_key={key}",
            authorization=f"Bearer {key}",
            **{"x-stainless-retry-count": "2", "idempotency-key": key},
        )
    )
    assert plain.fingerprint == noisy.fingerprint and plain.kind == "model"


@given(msgs=messages, extra=st.text(min_size=1, max_size=10))
def test_a_changed_message_changes_the_fingerprint(msgs: list[dict[str, str]], extra: str) -> None:
    changed = [*msgs[:-1], {**msgs[-1], "content": msgs[-1]["content"] + extra}]
    before = describe(_request({"model": "gpt", "messages": msgs})).fingerprint
    assert before != describe(_request({"model": "gpt", "messages": changed})).fingerprint
    assert before != describe(_request({"model": "gpt-2", "messages": msgs})).fingerprint


def test_volatile_fields_are_volatile_only_for_model_calls() -> None:
    one = http_fingerprint("http", "POST", "http://h/api", {"a": 1, "user": "x"})
    assert one != http_fingerprint("http", "POST", "http://h/api", {"a": 1, "user": "y"})
    assert http_fingerprint("model", "POST", URL, {"a": 1, "user": "x"}) == http_fingerprint(
        "model", "POST", URL, {"a": 1}
    )


def test_urls_are_canonical() -> None:
    a = describe(HttpRequest("get", "HTTP://Example.COM:80/p?b=2&a=1", [], b""))
    b = describe(HttpRequest("GET", "http://example.com/p?a=1&b=2", [], None))
    assert a.fingerprint != b.fingerprint  # an unread (streamed) body is not an empty one
    c = describe(HttpRequest("GET", "http://example.com/p?a=1&b=2", [], b""))
    assert a.fingerprint == c.fingerprint and a.target == "GET http://example.com/p"
    assert describe(HttpRequest("GET", "http://example.com/p?a=2", [], b"")).fingerprint != (
        c.fingerprint
    )


def test_tool_fingerprints_hash_bound_arguments_not_reprs() -> None:
    marker = {"__theseus_unserializable__": "Client", "repr": "<Client at 0x7f01>"}
    other = {"__theseus_unserializable__": "Client", "repr": "<Client at 0x7f99>"}
    assert tool_fingerprint("t", {"self": marker, "x": 1}) == tool_fingerprint(
        "t", {"self": other, "x": 1}
    )
    assert tool_fingerprint("t", {"x": 1}) != tool_fingerprint("u", {"x": 1})
    assert tool_fingerprint("t", {"x": 1}) != tool_fingerprint("t", {"x": 2})


def test_model_calls_are_told_from_http_calls() -> None:
    assert call_kind("http://127.0.0.1:8000/v1/chat/completions") == "model"
    assert call_kind("http://127.0.0.1:8000/v1/messages") == "model"
    assert call_kind("http://localhost/v1/responses") == "model"
    assert call_kind("http://localhost/v1/embeddings") == "model"
    assert call_kind("https://api.anthropic.com/v1/models") == "model"
    assert call_kind("https://my.openai.azure.com/openai/deployments/x/chat/completions") == "model"
    assert call_kind("https://shop.example/api/messages") == "http"
    assert target_of("post", "https://u:p@h.example:8443/v1/x?key=1#f") == (
        "POST https://h.example:8443/v1/x"
    )
