"""The forwarder's protocol: one request and one answer per Unix-socket connection.

Each message is a 4-byte big-endian length and that many bytes of JSON (at most
:data:`MAX_MESSAGE`): ``{"method", "url", "headers": [[name, value]...], "body": base64 |
null}`` from the sandbox, ``{"ok": true, "status", "headers", "body": base64}`` or ``{"ok":
false, "reason": "refused" | "forward_failed", "error"}`` back. Small on purpose: both
ends are this package, and the sandbox side must not need anything it lacks.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any
from urllib.parse import urlsplit

from theseus.evidence.calls.captures import MAX_RECORDED_BYTES
from theseus.evidence.calls.wire import HttpRequest, describe, encode_response

__all__ = [
    "MAX_MESSAGE",
    "ForwardFailed",
    "origin",
    "read_exactly",
    "receive_message",
    "recorded",
    "send_message",
]

MAX_MESSAGE = 64 << 20
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ForwardFailed(Exception):
    """The host did not forward a call: ``reason`` is ``refused`` or ``forward_failed``."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


def origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def send_message(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    sock.sendall(struct.pack(">I", len(data)) + data)


def receive_message(sock: socket.socket) -> dict[str, Any]:
    (size,) = struct.unpack(">I", read_exactly(sock, 4))
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes is over the {MAX_MESSAGE} limit")
    message = json.loads(read_exactly(sock, size))
    if not isinstance(message, dict):
        raise ValueError("message is not a JSON object")
    return message


def read_exactly(sock: socket.socket, size: int) -> bytes:
    parts, left = [], size
    while left:
        part = sock.recv(min(left, 1 << 20))
        if not part:
            raise ConnectionError("the other side closed the connection")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def recorded(
    request: HttpRequest, status: int, headers: list[tuple[str, str]], data: bytes, ms: float
) -> dict[str, Any]:
    described = describe(request)
    whole = len(data) <= MAX_RECORDED_BYTES
    response = encode_response(
        status,
        headers,
        data if whole else None,
        size=len(data),
        decoded=False,
        complete=True,
        secrets=described.secrets,
    )
    return {
        "seq": 0,
        "kind": described.kind,
        "target": described.target,
        "fingerprint": described.fingerprint,
        "request": described.request,
        "response": response,
        "error": None,
        "duration_ms": ms,
    }
