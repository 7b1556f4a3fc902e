"""What of an outbound request may be recorded: credentials never are.

Evidence is read by people, exported as JSONL and shown to a model that proposes fixes, so
a key recorded once leaks everywhere. The rules, applied before anything is stored (and
before a fingerprint is taken, so replay hashes the same redacted form):

- headers: only the few that help to read or replay a call are kept (:data:`KEPT_REQUEST`,
  :data:`KEPT_RESPONSE`); everything else is dropped, credentials included
  (``Authorization``, ``x-api-key``, ``api-key``, ``Cookie``, ``Set-Cookie``,
  ``Proxy-Authorization`` and any name that reads like a key or token);
- URLs: ``user:password@`` and every query parameter whose name reads like a credential
  (:func:`secret_name`: ``api_key``, ``key``, ``access_token``, ``sig``...) are dropped;
- request bodies of plain HTTP calls: a form field or a JSON field (at any depth) whose name
  reads like a credential and whose value is a string (``password``, ``client_secret``,
  ``refresh_token``) has its value replaced by ``[redacted]``; model calls' bodies are left
  as they are (their schema holds no credentials, and a field such as ``max_tokens`` is not
  one);
- everything: the values of the dropped credentials are replaced by ``[redacted]`` wherever
  they appear in a request or response body or an error message (a server that echoes the
  key back, an agent that puts it in a prompt).

What is redacted is redacted before the fingerprint is taken, so a credential that differs
between the live service and the sandbox never makes two calls look different.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "KEPT_REQUEST",
    "KEPT_RESPONSE",
    "REDACTED",
    "SECRET_HEADERS",
    "kept_headers",
    "redact_fields",
    "redact_form",
    "redact_url",
    "scrub",
    "scrub_text",
    "secret_name",
    "secrets_of",
]

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
# What helps a person read a call, or a library parse its replayed answer. Nothing else.
KEPT_REQUEST = frozenset(
    {"content-type", "accept", "anthropic-version", "anthropic-beta", "openai-beta"}
)
# ``retry-after`` is left out on purpose: replay would sleep as long as the server once asked.
KEPT_RESPONSE = frozenset({"content-type", "content-encoding", "location", "x-should-retry"})

_SECRET_WORDS = frozenset(
    {
        "key",
        "apikey",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "signature",
        "sig",
        "session",
        "cookie",
        "jwt",
        "bearer",
    }
)
_WORD = re.compile(r"[a-z0-9]+")
_MIN_SECRET = 8  # shorter values are not searched for in bodies: too many false hits


@lru_cache(maxsize=1024)  # the same few header names, call after call
def secret_name(name: str) -> bool:
    """Whether a header or query parameter called ``name`` may carry a credential."""
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        return True
    words = _WORD.findall(lowered)
    return any(word in _SECRET_WORDS for word in words) or "apikey" in lowered.replace("_", "")


def secrets_of(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The credential values among ``headers`` (and the token of ``Bearer <token>``), to be
    scrubbed from bodies."""
    found: list[str] = []
    for name, value in headers:
        if not secret_name(name):
            continue
        value = value.strip()
        scheme, _, rest = value.partition(" ")
        for candidate in (value, rest.strip() if scheme else ""):
            if len(candidate) >= _MIN_SECRET and candidate not in found:
                found.append(candidate)
    return found


def kept_headers(headers: Iterable[tuple[str, str]], kept: frozenset[str]) -> dict[str, str]:
    """The headers named in ``kept`` (lower-cased names, repeated values joined by ', ')."""
    out: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in kept:
            out[lowered] = f"{out[lowered]}, {value}" if lowered in out else value
    return out


@lru_cache(maxsize=512)  # an agent calls the same few endpoints over and over
def redact_url(url: str) -> tuple[str, tuple[str, ...]]:
    """``url`` without user:password and credential-like query parameters, and the values
    dropped (to be scrubbed from bodies too). Remaining parameters keep their order."""
    parts = urlsplit(url)
    secrets: list[str] = []
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        secrets += [s for s in userinfo.split(":") if len(s) >= _MIN_SECRET]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = []
        for name, value in pairs:
            if secret_name(name):
                if len(value) >= _MIN_SECRET:
                    secrets.append(value)
            else:
                kept.append((name, value))
        if len(kept) != len(pairs):
            query = urlencode(kept)
    if netloc == parts.netloc and query == parts.query and not parts.fragment:
        return url, tuple(secrets)
    return urlunsplit((parts.scheme, netloc, parts.path, query, "")), tuple(secrets)


def scrub(data: bytes, secrets: list[str]) -> bytes:
    """``data`` with every secret value replaced by ``[redacted]``."""
    for secret in secrets:
        raw = secret.encode("utf-8", "replace")
        if raw in data:
            data = data.replace(raw, REDACTED.encode())
    return data


def scrub_text(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced by ``[redacted]``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_form(data: bytes) -> tuple[bytes, list[str]]:
    """A form-encoded body with credential-like fields' values redacted, and those values."""
    try:
        pairs = parse_qsl(data.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return data, []
    secrets = [v for k, v in pairs if secret_name(k) and len(v) >= _MIN_SECRET]
    if not any(secret_name(k) for k, _ in pairs):
        return data, []
    kept = [(k, REDACTED if secret_name(k) else v) for k, v in pairs]
    return urlencode(kept).encode("ascii"), secrets


def redact_fields(value: Any) -> tuple[Any, list[str]]:
    """A JSON value with the string values of credential-like keys redacted, at any depth,
    and those values."""
    secrets: list[str] = []

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            out = {}
            for key, inner in item.items():
                if isinstance(inner, str) and secret_name(key):
                    if len(inner) >= _MIN_SECRET:
                        secrets.append(inner)
                    out[key] = REDACTED
                else:
                    out[key] = walk(inner)
            return out
        if isinstance(item, list):
            return [walk(inner) for inner in item]
        return item

    return walk(value), secrets
