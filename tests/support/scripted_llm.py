"""A scripted model server for tests: OpenAI- and Anthropic-compatible, on 127.0.0.1.

Tests must exercise the real SDK client code (request building, retries with backoff,
Retry-After, timeouts, response parsing, error classes) without a hosted model. This server
speaks both wire formats over real HTTP and answers from a FIFO script the test writes, so
a test decides exactly what the "model" says, when it fails and how:

    with ScriptedLLMServer() as server:
        server.script(text("hello"), error(429, retry_after=0.01), tool_calls([("f", {})]))
        ... OpenAI(base_url=server.base_url, api_key="test-key") ...
        ... Anthropic(base_url=server.anthropic_base_url, api_key="test-key") ...
        assert server.requests[0]["messages"][0]["content"] == ...

Rules that hold without consuming a step: a wrong key (``Authorization: Bearer`` or
``x-api-key``) gets 401 and an unknown model gets 404 ``model_not_found``, both in the
provider's own error shape. An empty script answers 500 "script exhausted" with
``x-should-retry: false`` so the SDKs fail at once instead of retrying into the same wall.
Each HTTP attempt consumes one step, so an SDK retry after a 429 or a timeout takes the
next step: script one step per attempt. Nothing in the shipped product imports this.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

StepKind = Literal["text", "tool_calls", "error", "malformed", "delay", "refusal"]


@dataclass(frozen=True)
class Step:
    """One scripted answer; build it with the module functions, not by hand."""

    kind: StepKind
    content: str = ""
    calls: tuple[tuple[str, dict[str, Any] | str], ...] = ()
    input_tokens: int = 100
    output_tokens: int = 50
    status: int = 200
    retry_after: float | None = None
    seconds: float = 0.0
    then: Step | None = None
    stop_reason: str | None = None


def text(
    content: str,
    *,
    input_tokens: int = 100,
    output_tokens: int = 50,
    stop_reason: str | None = None,
) -> Step:
    """A plain assistant answer. ``stop_reason`` overrides the provider's word for why it
    stopped (e.g. "length" for OpenAI, "max_tokens" for Anthropic)."""
    return Step(
        "text",
        content=content,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        stop_reason=stop_reason,
    )


def tool_calls(
    calls: Sequence[tuple[str, dict[str, Any] | str]],
    *,
    text: str = "",
    input_tokens: int = 100,
    output_tokens: int = 50,
) -> Step:
    """An answer that calls tools: ``(name, arguments)`` pairs. A ``str`` as arguments is
    sent verbatim (OpenAI) so tests can send arguments that are not JSON."""
    return Step(
        "tool_calls",
        content=text,
        calls=tuple((name, args) for name, args in calls),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )


def error(status: int, message: str = "", *, retry_after: float | None = None) -> Step:
    """An HTTP error in the provider's error shape (401, 404, 429, 500, 529, ...)."""
    return Step("error", content=message, status=status, retry_after=retry_after)


def malformed(body: str) -> Step:
    """A 200 answer whose body is ``body`` verbatim: not a valid completion."""
    return Step("malformed", content=body)


def delay(seconds: float, then: Step) -> Step:
    """Wait ``seconds`` before answering with ``then`` (drives client timeouts)."""
    return Step("delay", seconds=seconds, then=then)


def refusal(message: str = "I can't help with that.") -> Step:
    """The model declines: OpenAI ``message.refusal`` with finish_reason "content_filter",
    Anthropic ``stop_reason: "refusal"``."""
    return Step("refusal", content=message)


_OPENAI_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _openai_error(status: int, message: str) -> dict[str, Any]:
    kind, code = _OPENAI_ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


class ScriptedLLMServer:
    """An HTTP server on 127.0.0.1 (free port) that answers model calls from a script."""

    def __init__(
        self, *, api_key: str = "test-key", models: Collection[str] = ("scripted-model",)
    ) -> None:
        self.api_key = api_key
        self.models = frozenset(models)
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.base_url = ""
        self.anthropic_base_url = ""
        self._queue: deque[Step] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- script ---------------------------------------------------------------------------

    def script(self, *steps: Step) -> None:
        """Append answers to the queue; each HTTP attempt that passes auth and model checks
        takes the next one."""
        with self._lock:
            self._queue.extend(steps)

    def remaining(self) -> int:
        """How many scripted steps have not been used yet."""
        with self._lock:
            return len(self._queue)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> ScriptedLLMServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        httpd.daemon_threads = True
        httpd.block_on_close = False
        port = httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.anthropic_base_url = f"http://127.0.0.1:{port}"
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering (called from handler threads) ------------------------------------------

    def _next_step(self) -> Step | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _record(self, path: str, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(body)
            self.paths.append(path)

    def _new_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


@dataclass
class _Answer:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(payload), dict(headers or {}))


def _openai_reply(server: ScriptedLLMServer, step: Step, model: str) -> _Answer:
    n = server._new_id()
    message: dict[str, Any] = {"role": "assistant", "content": step.content, "refusal": None}
    finish = step.stop_reason or "stop"
    if step.kind == "tool_calls":
        message["content"] = step.content or None
        message["tool_calls"] = [
            {
                "id": f"call_{n}_{i}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for i, (name, args) in enumerate(step.calls)
        ]
        finish = "tool_calls"
    elif step.kind == "refusal":
        message["content"] = None
        message["refusal"] = step.content
        finish = "content_filter"
    usage = {
        "prompt_tokens": step.input_tokens,
        "completion_tokens": step.output_tokens,
        "total_tokens": step.input_tokens + step.output_tokens,
    }
    return _json(
        200,
        {
            "id": f"chatcmpl-scripted{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
            "usage": usage,
            "system_fingerprint": None,
        },
    )


def _anthropic_reply(server: ScriptedLLMServer, step: Step, model: str) -> _Answer:
    n = server._new_id()
    content: list[dict[str, Any]] = []
    stop = step.stop_reason or "end_turn"
    if step.content:
        content.append({"type": "text", "text": step.content})
    if step.kind == "tool_calls":
        for i, (name, args) in enumerate(step.calls):
            content.append(
                {"type": "tool_use", "id": f"toolu_{n}_{i}", "name": name, "input": args}
            )
        stop = "tool_use"
    elif step.kind == "refusal":
        stop = "refusal"
    return _json(
        200,
        {
            "id": f"msg_scripted{n}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": step.input_tokens, "output_tokens": step.output_tokens},
        },
    )


def _answer(server: ScriptedLLMServer, anthropic: bool, step: Step, model: str) -> _Answer:
    while step.kind == "delay":
        server._wait(step.seconds)
        assert step.then is not None
        step = step.then
    if step.kind == "error":
        message = step.content or f"error {step.status}"
        shaped = _anthropic_error if anthropic else _openai_error
        headers = {} if step.retry_after is None else {"retry-after": f"{step.retry_after:g}"}
        return _json(step.status, shaped(step.status, message), headers)
    if step.kind == "malformed":
        return _Answer(200, step.content)
    reply = _anthropic_reply if anthropic else _openai_reply
    return reply(server, step, model)


def _authorised(server: ScriptedLLMServer, headers: Any, anthropic: bool) -> bool:
    bearer = headers.get("Authorization", "")
    if bearer == f"Bearer {server.api_key}":
        return True
    return anthropic and headers.get("x-api-key", "") == server.api_key


def _handle(server: ScriptedLLMServer, path: str, headers: Any, raw: bytes) -> _Answer:
    anthropic = path == "/v1/messages"
    shaped = _anthropic_error if anthropic else _openai_error
    if path not in ("/v1/messages", "/v1/chat/completions"):
        return _json(404, shaped(404, f"no route {path} on the scripted server"))
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {"_unparsed": raw.decode("utf-8", "replace")}
    if not isinstance(body, dict):
        body = {"_unparsed": body}
    server._record(path, body)
    if not _authorised(server, headers, anthropic):
        return _json(401, shaped(401, "Incorrect API key provided."))
    model = str(body.get("model", ""))
    if model not in server.models:
        message = f"The model `{model}` does not exist or you do not have access to it."
        return _json(404, shaped(404, message))
    step = server._next_step()
    if step is None:
        return _json(500, shaped(500, "script exhausted"), {"x-should-retry": "false"})
    return _answer(server, anthropic, step, model)


def _make_handler(server: ScriptedLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            answer = _handle(server, urlsplit(self.path).path, self.headers, raw)
            self._send(answer)

        def do_GET(self) -> None:
            self._send(_json(404, {"error": {"message": f"no GET route {self.path}"}}))

        def _send(self, answer: _Answer) -> None:
            data = answer.body.encode("utf-8")
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
