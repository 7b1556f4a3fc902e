"""A real local HTTP server speaking enough of the OpenAI and Anthropic APIs, and helpers.

The server (stdlib ``http.server`` in a thread, on 127.0.0.1) answers chat completions and
messages as JSON or, with ``"stream": true``, as server-sent events in each provider's own
shape; ``/echo`` answers with the request's headers and query (so a test can see a key
reach the server and not the evidence), ``/gzip`` with a gzip-compressed JSON body, and
``/big?n=`` with ``n`` bytes. Every answer carries a counter that grows with each request,
so a replay that returns the recorded answers is told apart from one that asked again.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from theseus.evidence import sdk
from theseus.evidence.records import TaskRecord
from theseus.evidence.store import EvidenceStore

KEY = "sk-test-7f3a9c2e1b5d4a6f8e0c"


class FakeAPI:
    """The server; ``requests`` lists what reached it (path, headers, body)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.count = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> FakeAPI:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def next_count(self) -> int:
        with self._lock:
            self.count += 1
            return self.count


def _prompt(body: dict[str, Any]) -> str:
    messages = body.get("messages") or [{}]
    content = messages[-1].get("content", "")
    return content if isinstance(content, str) else json.dumps(content)


def _openai(body: dict[str, Any], n: int) -> tuple[str, list[bytes]]:
    text = f"reply {n} to {_prompt(body)}"
    model = body.get("model", "m")
    if not body.get("stream"):
        return "application/json", [json.dumps({
            "id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        }).encode()]  # fmt: skip
    events = []
    for piece in [text[: len(text) // 2], text[len(text) // 2 :]]:
        chunk = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": 1,
                 "model": model, "choices": [{"index": 0, "delta": {"content": piece},
                                              "finish_reason": None}]}  # fmt: skip
        events.append(f"data: {json.dumps(chunk)}\n\n".encode())
    events.append(b"data: [DONE]\n\n")
    return "text/event-stream", events


def _anthropic(body: dict[str, Any], n: int) -> tuple[str, list[bytes]]:
    text = f"reply {n} to {_prompt(body)}"
    model = body.get("model", "m")
    usage = {"input_tokens": 3, "output_tokens": 4}
    if not body.get("stream"):
        return "application/json", [json.dumps({
            "id": f"msg_{n}", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": usage,
        }).encode()]  # fmt: skip
    start = {"id": f"msg_{n}", "type": "message", "role": "assistant", "model": model,
             "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {"input_tokens": 3, "output_tokens": 0}}  # fmt: skip
    sequence: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
    ]  # fmt: skip
    for piece in [text[:5], text[5:]]:
        sequence.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                         "delta": {"type": "text_delta", "text": piece}}))  # fmt: skip
    sequence += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "usage": {"output_tokens": 4},
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip
    return "text/event-stream", [
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in sequence
    ]


def _handler(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(b"")

        def do_POST(self) -> None:
            self._answer(self.rfile.read(int(self.headers.get("content-length") or 0)))

        def _answer(self, raw: bytes) -> None:
            n = api.next_count()
            parts = urlsplit(self.path)
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {"raw": raw.decode("utf-8", "replace")}
            api.requests.append({"path": parts.path, "headers": dict(self.headers), "body": body})
            headers = {"x-request-id": f"req-{n}", "set-cookie": f"session={KEY}"}
            if parts.path.endswith("/chat/completions"):
                kind, chunks = _openai(body, n)
            elif parts.path.endswith("/messages"):
                kind, chunks = _anthropic(body, n)
            elif parts.path == "/echo":
                echoed = {"n": n, "headers": dict(self.headers), "query": parse_qs(parts.query),
                          "body": body}  # fmt: skip
                kind, chunks = "application/json", [json.dumps(echoed).encode()]
            elif parts.path == "/gzip":
                kind, chunks = "application/json", [gzip.compress(json.dumps({"n": n}).encode())]
                headers["content-encoding"] = "gzip"
            elif parts.path == "/big":
                size = int(parse_qs(parts.query).get("n", ["1000"])[0])
                kind, chunks = "application/octet-stream", [b"x" * size]
            else:
                kind, chunks = (
                    "application/json",
                    [json.dumps({"n": n, "path": parts.path}).encode()],
                )
            self.send_response(200)
            self.send_header("content-type", kind)
            for name, value in headers.items():
                self.send_header(name, value)
            if kind != "text/event-stream":
                self.send_header("content-length", str(sum(map(len, chunks))))
            self.end_headers()
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    server = FakeAPI().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    """Records go to a store in the test's folder."""
    path = tmp_path / "evidence.db"
    sdk.configure(store=path)
    yield path
    sdk.configure()


def tasks(path: Path) -> list[TaskRecord]:
    sdk._writer.close_all()
    with EvidenceStore(path) as opened:
        return opened.tasks()


def only_task(path: Path) -> TaskRecord:
    [record] = tasks(path)
    return record


def call_dicts(record: TaskRecord) -> list[dict[str, Any]]:
    """The record's calls as a replay case holds them: plain JSON dicts."""
    return [call.model_dump(mode="json") for call in record.calls]
