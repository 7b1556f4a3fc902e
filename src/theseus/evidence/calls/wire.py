"""An HTTP exchange as evidence holds it: JSON that a person can read and replay can serve.

Interception (:mod:`.http_httpx`, :mod:`.http_requests`) turns each library's request into
an :class:`HttpRequest`; :func:`describe` makes its recorded form (redacted, see
:mod:`.redact`) with kind, target and fingerprint, the same way when recording, replaying
and forwarding, so the three always agree. Bodies are recorded as parsed JSON when the
content type says JSON, else as text, else (binary) as ``{"__theseus_base64__": ...}``;
a JSON content type whose body does not parse is kept as ``{"__theseus_text__": ...}``.
A body over the recording cap becomes ``{"__theseus_truncated__": <bytes>}``: such a call
is listed, but replay cannot serve it. A JSON body is served again re-serialised: the same
value, perhaps not the same whitespace.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

from theseus.evidence.calls.fingerprint import call_kind, http_fingerprint, target_of
from theseus.evidence.calls.redact import (
    KEPT_REQUEST,
    KEPT_RESPONSE,
    kept_headers,
    redact_fields,
    redact_form,
    redact_url,
    scrub,
    secrets_of,
)

__all__ = [
    "BASE64",
    "NOT_READ",
    "TEXT",
    "TRUNCATED",
    "Described",
    "HttpRequest",
    "Served",
    "decode_body",
    "describe",
    "encode_body",
    "encode_response",
    "events",
    "served_from",
]

BASE64 = "__theseus_base64__"
TEXT = "__theseus_text__"
TRUNCATED = "__theseus_truncated__"
NOT_READ = "__theseus_not_read__"  # a streamed upload: not read, so not recorded
_JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json\b|^text/json\b", re.I)
_EVENT_STREAM = "text/event-stream"
_FORM = "application/x-www-form-urlencoded"
_MAX_INFLATED = 4 << 20


@dataclass(slots=True)
class HttpRequest:
    """A request as every intercepted library sends it; ``body`` None when it streams."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None


@dataclass(slots=True)
class Described:
    """What recording, replay and forwarding know of a request."""

    kind: Literal["model", "http"]
    target: str
    fingerprint: str
    request: dict[str, Any]
    secrets: list[str]


@dataclass(slots=True)
class Served:
    """A response to hand back to the library: recorded, forwarded, or an error to raise."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    error: str | None = None


def describe(request: HttpRequest) -> Described:
    """The recorded form of ``request`` (full body: truncation is decided later)."""
    url, from_url = redact_url(request.url)
    secrets = [*from_url, *secrets_of(request.headers)]
    method = request.method.upper()
    headers = kept_headers(request.headers, KEPT_REQUEST)
    kind = call_kind(url)
    content_type = headers.get("content-type", "")
    if request.body is None:
        body: Any = {NOT_READ: True}
    else:
        data = scrub(request.body, secrets)
        if kind == "http" and content_type.startswith(_FORM):
            data, from_form = redact_form(data)
            secrets += from_form
        body = encode_body(data, content_type)
        if kind == "http" and isinstance(body, dict | list):  # model bodies have no such fields
            body, from_fields = redact_fields(body)
            secrets += from_fields
    return Described(
        kind=kind,
        target=target_of(method, url),
        fingerprint=http_fingerprint(kind, method, url, body),
        request={"method": method, "url": url, "headers": headers, "body": body},
        secrets=secrets,
    )


def encode_body(data: bytes, content_type: str) -> Any:
    """``data`` as recorded: JSON value, text, or a base64 marker (None when empty)."""
    if not data:
        return None
    if _JSON_TYPE.match(content_type):
        try:
            return json.loads(data)
        except ValueError:
            pass
        try:
            return {TEXT: data.decode("utf-8")}
        except UnicodeDecodeError:
            return {BASE64: base64.b64encode(data).decode("ascii")}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text
    return {BASE64: base64.b64encode(data).decode("ascii")}


def decode_body(body: Any, content_type: str) -> bytes | None:
    """The bytes to serve for a recorded ``body``; None when it was not recorded whole."""
    if body is None:
        return b""
    if isinstance(body, dict) and len(body) == 1:
        if BASE64 in body:
            return base64.b64decode(body[BASE64])
        if TEXT in body:
            return str(body[TEXT]).encode("utf-8")
        if TRUNCATED in body or NOT_READ in body:
            return None
    if isinstance(body, str) and not _JSON_TYPE.match(content_type):
        return body.encode("utf-8")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_response(
    status: int,
    headers: list[tuple[str, str]],
    body: bytes | None,
    *,
    size: int,
    decoded: bool,
    complete: bool,
    secrets: list[str],
) -> dict[str, Any]:
    """The recorded form of a response whose consumed bytes are ``body`` (None: over the cap;
    ``size`` is how many there were). ``decoded``: the library already undid any
    content-encoding (requests does; an httpx transport sees the bytes on the wire)."""
    kept = kept_headers(headers, KEPT_RESPONSE)
    encoding = kept.pop("content-encoding", "").strip().lower()
    recorded: Any
    if body is None:
        recorded = {TRUNCATED: size}
    else:
        if encoding and not decoded:
            plain = _decompressed(body, encoding)
            if plain is None:
                kept["content-encoding"] = encoding  # served as it came: the library decodes
            else:
                body = plain
        recorded = encode_body(scrub(body, secrets), kept.get("content-type", ""))
    out: dict[str, Any] = {"status": status, "headers": kept, "body": recorded}
    if kept.get("content-type", "").lower().startswith(_EVENT_STREAM):
        out["stream"] = True
    if not complete:
        out["complete"] = False  # closed before its end was seen: replay serves what was read
    return out


def _decompressed(data: bytes, encoding: str) -> bytes | None:
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return None  # br, zstd: kept encoded, as the library that asked for them can decode
    for wbits in (47, -15):  # gzip or zlib header, then raw deflate
        inflate = zlib.decompressobj(wbits)
        try:
            plain = inflate.decompress(data, _MAX_INFLATED)
        except zlib.error:
            continue
        return None if inflate.unconsumed_tail else plain  # a bomb stays as it came
    return None


def served_from(response: Any, error: str | None) -> Served | None:
    """A recorded response (or error) ready to serve; None when it cannot be served whole."""
    if error is not None:
        return Served(error=error)
    if not isinstance(response, dict) or not isinstance(response.get("status"), int):
        return None
    headers = response.get("headers") or {}
    if not isinstance(headers, dict):
        return None
    content_type = str(headers.get("content-type", ""))
    data = decode_body(response.get("body"), content_type)
    if data is None:
        return None
    pairs = [(str(k), str(v)) for k, v in headers.items()]
    chunks = events(data) if response.get("stream") else [data]
    return Served(status=response["status"], headers=pairs, chunks=chunks)


def events(data: bytes) -> list[bytes]:
    """A server-sent event stream cut at event boundaries, so it arrives as it was sent."""
    parts = data.split(b"\n\n")
    chunks = [part + b"\n\n" for part in parts[:-1]]
    if parts[-1]:
        chunks.append(parts[-1])
    return chunks
