"""Forwarding the calls a recording lacks, from a sandbox without network, to one endpoint.

Replay runs in a sandbox with no network. Under ``replay_calls(..., unrecorded="forward",
forward=ForwardClient(path))`` a call the recording cannot serve is described to the host
over a Unix socket bound into the sandbox; the host's :class:`CallForwarder` sends it on
only when its scheme, host and port are those of the one endpoint it was configured with (a
local model server), refuses anything else, and keeps what it forwarded
(``forwarder.forwarded``, RecordedCall-shaped dicts, redacted like any recording).

The protocol is in :mod:`.forward_protocol`. The host sends with ``http.client``, which no
Theseus patch touches, so a forwarder running in a process that is itself replaying still
reaches its endpoint.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import socketserver
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from theseus.errors import EvidenceError
from theseus.evidence.calls.failures import error_text
from theseus.evidence.calls.fingerprint import call_kind, model_path
from theseus.evidence.calls.forward_protocol import (
    ForwardFailed,
    origin,
    receive_message,
    recorded,
    send_message,
)
from theseus.evidence.calls.redact import scrub, scrub_text, secrets_of
from theseus.evidence.calls.wire import HttpRequest, Served, describe, events

__all__ = ["CallForwarder", "ForwardClient"]

_HOP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
        "accept-encoding",
    }
)


class ForwardClient:
    """The sandbox's side: hands a call to the host's forwarder and gets its answer."""

    def __init__(self, socket_path: str | Path, *, timeout: float = 120.0) -> None:
        self.socket_path = str(socket_path)
        self.timeout = timeout

    def send(self, request: HttpRequest) -> tuple[Served, dict[str, Any]]:
        """The response to serve, and the call as recorded; raises ForwardFailed."""
        body = None if request.body is None else base64.b64encode(request.body).decode("ascii")
        message = {
            "method": request.method,
            "url": request.url,
            "headers": [list(h) for h in request.headers],
            "body": body,
        }
        start = time.perf_counter()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.socket_path)
                send_message(sock, message)
                reply = receive_message(sock)
        except (OSError, ValueError) as exc:
            raise ForwardFailed(
                "forward_failed", f"the call forwarder at {self.socket_path} did not answer: {exc}"
            ) from None
        if not reply.get("ok"):
            raise ForwardFailed(str(reply.get("reason", "forward_failed")), str(reply.get("error")))
        status, headers = int(reply["status"]), [(str(k), str(v)) for k, v in reply["headers"]]
        data = base64.b64decode(reply.get("body") or "")
        streamed = any(k.lower() == "content-type" and "event-stream" in v for k, v in headers)
        served = Served(status=status, headers=headers, chunks=events(data) if streamed else [data])
        record = recorded(request, status, headers, data, (time.perf_counter() - start) * 1e3)
        return served, record


class CallForwarder:
    """The host's side: a thread serving a Unix socket, forwarding to one endpoint only.

    ``with CallForwarder("http://127.0.0.1:8000/v1", sock_path) as forwarder:`` (or
    ``start()`` / ``stop()``). ``headers`` are added to every forwarded request (a key the
    sandbox must not hold: it is never recorded); ``mode`` is the socket's permissions (the
    sandbox's user must be able to connect); ``forwarded`` lists what was sent on,
    ``refused`` what was not.
    """

    def __init__(
        self,
        url: str,
        socket_path: str | Path,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 120.0,
        mode: int = 0o600,
    ) -> None:
        endpoint = origin(url)
        if endpoint is None:
            raise EvidenceError(
                "call forwarder: the endpoint is not an http(s) URL with a host",
                hint="pass the model server's root, e.g. http://127.0.0.1:8000/v1",
            )
        self.origin = endpoint
        self.base_path = urlsplit(url).path.rstrip("/")
        self.socket_path = Path(socket_path)
        self.headers = dict(headers or {})
        # Every value the host adds is a secret: the sandbox never sees it echoed, nor does
        # the evidence (a server may echo what it was sent).
        self._secrets = secrets_of((f"{name}-key", value) for name, value in self.headers.items())
        self.timeout = timeout
        self.mode = mode
        self.forwarded: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: socketserver.UnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> CallForwarder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen on the socket (replacing a stale one) in a daemon thread."""
        forwarder = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                forwarder._handle(self.request)

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        try:
            self.socket_path.unlink(missing_ok=True)
            self._server = Server(str(self.socket_path), Handler)
            os.chmod(self.socket_path, self.mode)
        except OSError as exc:
            raise EvidenceError(
                f"call forwarder: cannot listen on {self.socket_path}: {exc}",
                hint="use a writable folder and a path shorter than ~100 characters",
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="theseus-call-forwarder", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and remove the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.socket_path.unlink(missing_ok=True)

    def _handle(self, sock: socket.socket) -> None:
        try:
            sock.settimeout(self.timeout)
            message = receive_message(sock)
            send_message(sock, self._answer(message))
        except Exception:  # a broken client: nothing to answer, nothing forwarded
            return

    def _answer(self, message: dict[str, Any]) -> dict[str, Any]:
        url = str(message.get("url", ""))
        body = base64.b64decode(message["body"]) if message.get("body") else None
        headers = [(str(k), str(v)) for k, v in message.get("headers") or []]
        url = self._aimed(url)
        request = HttpRequest(str(message.get("method", "GET")).upper(), url, headers, body)
        if origin(url) != self.origin:
            scheme, host, port = self.origin
            described = describe(request)
            with self._lock:
                self.refused.append(
                    {"target": described.target, "fingerprint": described.fingerprint}
                )
            return {
                "ok": False,
                "reason": "refused",
                "error": f"the call forwarder sends only to {scheme}://{host}:{port},"
                f" not to {described.target}",
            }
        start = time.perf_counter()
        try:
            status, reply_headers, data = self._send(request)
        except Exception as exc:
            problem = scrub_text(error_text(exc), self._secrets)
            return {"ok": False, "reason": "forward_failed", "error": problem}
        data = scrub(data, self._secrets)
        reply_headers = [(k, scrub_text(v, self._secrets)) for k, v in reply_headers]
        record = recorded(request, status, reply_headers, data, (time.perf_counter() - start) * 1e3)
        with self._lock:
            record["seq"] = len(self.forwarded)
            self.forwarded.append(record)
        return {
            "ok": True,
            "status": status,
            "headers": [list(h) for h in reply_headers],
            "body": base64.b64encode(data).decode("ascii"),
        }

    def _aimed(self, url: str) -> str:
        """A model call goes to the configured server whatever host the sandbox's SDK aimed
        at (it holds none of the agent's endpoint settings, so it aims at its default): its
        API path is put under the forwarder's URL (``/v1/chat/completions`` under
        ``http://127.0.0.1:8000/v1`` is ``http://127.0.0.1:8000/v1/chat/completions``).
        Any other call must already name the configured origin, or it is refused."""
        if call_kind(url) != "model":
            return url
        api = model_path(url)
        if self.base_path.endswith("/v1") and api.startswith("/v1/"):
            api = api[len("/v1") :]
        scheme, host, port = self.origin
        query = urlsplit(url).query
        return f"{scheme}://{host}:{port}{self.base_path}{api}" + (f"?{query}" if query else "")

    def _send(self, request: HttpRequest) -> tuple[int, list[tuple[str, str]], bytes]:
        scheme, host, port = self.origin
        parts = urlsplit(request.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {k: v for k, v in request.headers if k.lower() not in _HOP}
        headers.update(self.headers)
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        connection = kind(host, port, timeout=self.timeout)
        try:
            connection.request(request.method, path, body=request.body, headers=headers)
            reply = connection.getresponse()
            data = reply.read()
            kept = [(k, v) for k, v in reply.getheaders() if k.lower() not in _HOP]
            return reply.status, kept, data
        finally:
            connection.close()
