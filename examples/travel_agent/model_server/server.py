"""The HTTP side of the stand-in model: OpenAI-shaped requests in, OpenAI-shaped JSON out."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from model_server import rules

DEFAULT_PORT = 8711
DEFAULT_KEY = "demo-key"
MODEL_NAME = "travel-demo-1"


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api_key: str) -> None:
        super().__init__(address, _Handler)
        self.host = address[0]
        self.api_key = api_key


def serve(
    port: int = 0, *, host: str = "127.0.0.1", api_key: str = DEFAULT_KEY
) -> tuple[ModelServer, threading.Thread]:
    """Start the server on ``host:port`` (0: a free port) in a daemon thread; stop it with
    ``server.shutdown(); server.server_close()``."""
    server = ModelServer((host, port), api_key)
    thread = threading.Thread(target=server.serve_forever, name="model-server", daemon=True)
    thread.start()
    return server, thread


def base_url(server: ModelServer) -> str:
    """The ``OPENAI_BASE_URL`` that reaches ``server``."""
    return f"http://{server.host}:{server.server_address[1]}/v1"


def completion(body: dict[str, Any]) -> dict[str, Any]:
    """The chat.completion answering a request ``body`` (already checked to have messages)."""
    offered = {
        tool["function"]["name"]
        for tool in body.get("tools") or []
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
    }
    decision = rules.decide(_last_user_text(body["messages"]), offered)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if isinstance(decision, rules.Call):
        arguments = json.dumps(decision.arguments)
        message["tool_calls"] = [
            {
                "id": f"call_{digest[:24]}",
                "type": "function",
                "function": {"name": decision.name, "arguments": arguments},
            }
        ]
        finish, produced = "tool_calls", arguments
    else:
        message["content"] = decision.text
        finish, produced = "stop", decision.text
    prompt_tokens = len(json.dumps(body["messages"])) // 4
    completion_tokens = max(1, len(produced) // 4)
    return {
        "id": f"chatcmpl-{digest[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model") or MODEL_NAME),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
                return " ".join(
                    str(part.get("text", "")) for part in content if isinstance(part, dict)
                )
    return ""


def _error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    server: ModelServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms ACK stall

    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self.path.rstrip("/") in {"/v1/models", "/models"}:
            models = [{"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "demo"}]
            self._send(200, {"object": "list", "data": models})
        else:
            self._send(404, _error(f"no route GET {self.path}", "invalid_request_error"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self._authorised():
            return
        if self.path.split("?")[0].rstrip("/") not in {"/v1/chat/completions", "/chat/completions"}:
            self._send(404, _error(f"no route POST {self.path}", "invalid_request_error"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, _error("the body is not JSON", "invalid_request_error"))
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._send(400, _error("'messages' is required", "invalid_request_error"))
            return
        if body.get("stream"):
            self._send(400, _error("this demo model does not stream", "invalid_request_error"))
            return
        self._send(200, completion(body))

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {self.server.api_key}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            return True
        error = _error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        self._send(401, error)
        return False

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a request log per model call would drown the traffic's output."""
