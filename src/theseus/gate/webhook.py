"""Signed webhooks: ask an outside approver, and accept only its signed answer.

Outgoing: the review request is POSTed as JSON with ``X-Theseus-Signature: sha256=<hex>``,
the HMAC-SHA256 of the exact body bytes under a shared secret. Incoming: the approver POSTs
its decision to the callback URL in the request, signed the same way; the receiver checks
the signature with a constant-time compare before it even parses the body, and accepts one
answer per request nonce, so a captured answer cannot be replayed onto another candidate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from theseus.errors import WebhookError

SIGNATURE_HEADER = "X-Theseus-Signature"
CALLBACK_PATH = "/theseus/callback"
MAX_BODY = 64 * 1024


def sign(body: bytes, secret: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_ok(body: bytes, header: str | None, secret: bytes) -> bool:
    """Whether ``header`` is the signature of ``body`` (constant-time)."""
    if not header:
        return False
    return hmac.compare_digest(header.strip().encode(), sign(body, secret).encode())


@dataclass(frozen=True)
class Answer:
    """A verified decision from the approver."""

    approved: bool
    actor: str
    reason: str


@dataclass
class _Pending:
    candidate_id: str
    event: threading.Event
    answer: Answer | None = None


class CallbackReceiver:
    """A small HTTP server in a background thread that takes signed approve/reject answers.

    Use as a context manager; ``url`` is where approvers send answers. Requests must be
    ``POST /theseus/callback`` with JSON ``{"nonce", "candidate_id", "decision":
    "approve"|"reject", "actor", "reason"}`` and a valid signature header.
    """

    def __init__(self, secret: bytes, host: str = "127.0.0.1", port: int = 0) -> None:
        if not secret:
            raise WebhookError(
                "the webhook secret is empty", hint="set the secret environment variable"
            )
        self.secret = secret
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def do_GET(self) -> None:
                self._reply(405, {"error": "use POST"})

            def _reply(self, status: int, data: dict[str, Any]) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(
                self, format: str, *args: Any
            ) -> None:  # quiet: the audit log records answers
                return

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise WebhookError(
                f"cannot listen for webhook answers on {host}:{port}: {exc.strerror}"
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=lambda: self._server.serve_forever(poll_interval=0.1),
            name="theseus-webhook",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{CALLBACK_PATH}"

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def expect(self, nonce: str, candidate_id: str) -> None:
        """Register a request whose answer will carry ``nonce``."""
        with self._lock:
            self._pending[nonce] = _Pending(candidate_id, threading.Event())

    def wait(self, nonce: str, timeout: float) -> Answer | None:
        """The answer for ``nonce``, or None when none arrived within ``timeout`` seconds."""
        with self._lock:
            pending = self._pending[nonce]
        pending.event.wait(timeout)
        return pending.answer

    def _handle(self, request: Any) -> None:
        status, data = self._judge(request)
        request._reply(status, data)

    def _judge(self, request: Any) -> tuple[int, dict[str, Any]]:
        if request.path.split("?")[0] != CALLBACK_PATH:
            return 404, {"error": f"unknown path; answers go to {CALLBACK_PATH}"}
        try:
            length = int(request.headers.get("Content-Length", ""))
        except ValueError:
            return 411, {"error": "Content-Length required"}
        if not 0 <= length <= MAX_BODY:
            return 413, {"error": f"body larger than {MAX_BODY} bytes"}
        body = request.rfile.read(length)
        if not signature_ok(body, request.headers.get(SIGNATURE_HEADER), self.secret):
            return 401, {"error": f"missing or wrong {SIGNATURE_HEADER}"}
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            return 400, {"error": "body is not JSON"}
        if not isinstance(data, dict):
            return 400, {"error": "body must be a JSON object"}
        decision = data.get("decision")
        if decision not in ("approve", "reject"):
            return 400, {"error": "decision must be 'approve' or 'reject'"}
        with self._lock:
            pending = self._pending.get(str(data.get("nonce")))
            if pending is None:
                return 404, {"error": "unknown nonce"}
            if pending.candidate_id != data.get("candidate_id"):
                return 400, {"error": "candidate_id does not match the request"}
            if pending.answer is not None:
                return 409, {"error": "already answered"}
            pending.answer = Answer(
                approved=decision == "approve",
                actor=str(data.get("actor") or "webhook"),
                reason=str(data.get("reason") or f"{decision}d by webhook"),
            )
            pending.event.set()
        return 200, {"ok": True}


def post_signed(url: str, payload: bytes, secret: bytes, timeout: float = 10.0) -> int:
    """POST a signed body; returns the status code (WebhookError when unreachable)."""
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(payload, secret),
        "User-Agent": "theseus-webhook",
    }
    try:
        response = httpx.post(url, content=payload, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise WebhookError(f"cannot reach the webhook {url}: {type(exc).__name__}: {exc}") from None
    return response.status_code
