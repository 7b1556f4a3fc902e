"""What a call *is*, for matching in replay: its kind, its target and its fingerprint.

The fingerprint is the sha256 of a canonical form, so two requests that mean the same call
hash alike however they were spelled and whatever changes from one run to the next:

- HTTP: kind + upper-cased method + the URL with scheme and host lower-cased, the default
  port dropped, credential-like query parameters dropped (:func:`.redact.redact_url`; their
  values differ between the live service and the sandbox) and the rest sorted + the body as
  recorded (:mod:`.wire`: parsed JSON, text, or base64), serialised with sorted keys. For
  model calls the top-level body fields in :data:`VOLATILE_BODY_FIELDS` are left out: they
  change per request or per deployment and not what the model is asked; and the endpoint
  is left out too, only the API path counts (``/v1/chat/completions``): a model call asks
  the same of whichever server answers it, and the sandbox that replays it holds none of the
  agent's endpoint configuration (``OPENAI_BASE_URL`` and the like), so the SDK there aims
  at its default host. Headers are never part of it (SDKs add retry counts, idempotency
  keys and versions to them).
- tool: the tool's name + its arguments bound to the signature, defaults applied (so
  ``f(1, b=2)`` and ``f(1, 2)`` are one call), JSON-safe, an unserialisable value reduced to
  its type name (its ``repr`` often holds a memory address).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from theseus._jsonvalue import UNSERIALIZABLE, dumps

__all__ = [
    "MODEL_HOSTS",
    "MODEL_PATHS",
    "VOLATILE_BODY_FIELDS",
    "call_kind",
    "canonical_url",
    "http_fingerprint",
    "model_path",
    "target_of",
    "tool_fingerprint",
]

Kind = Literal["model", "http", "tool"]

MODEL_HOSTS = frozenset({"api.openai.com", "api.anthropic.com"})
# The endpoints of the official openai and anthropic SDKs, wherever they are served from
# (a local server under base_url="http://127.0.0.1:8000/v1" is a model too).
MODEL_PATHS = (
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/messages",
    "/v1/messages/count_tokens",
)
VOLATILE_BODY_FIELDS = frozenset(
    {
        "stream_options",  # usage reporting of a stream, not its content
        "user",  # end-user id for abuse monitoring
        "metadata",  # caller's tags (anthropic: user_id)
        "request_id",
        "idempotency_key",
        "safety_identifier",
        "prompt_cache_key",  # routing for the provider's prompt cache
        "store",  # whether the provider keeps the completion
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@lru_cache(maxsize=512)
def call_kind(url: str) -> Literal["model", "http"]:
    """``"model"`` for the model APIs (by host, or by one of :data:`MODEL_PATHS`)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in MODEL_HOSTS or host.endswith(".openai.azure.com"):
        return "model"
    path = parts.path.rstrip("/")
    return "model" if path.endswith(MODEL_PATHS) else "http"


@lru_cache(maxsize=512)
def target_of(method: str, url: str) -> str:
    """``"POST https://api.openai.com/v1/chat/completions"``: no user, query or fragment."""
    parts = urlsplit(url)
    return f"{method.upper()} {urlunsplit((parts.scheme, _host_port(parts), parts.path, '', ''))}"


@lru_cache(maxsize=512)
def canonical_url(url: str) -> str:
    """``url`` as the fingerprint sees it (already redacted: see :func:`.redact.redact_url`)."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme.lower(), _host_port(parts), parts.path or "/", query, ""))


def _host_port(parts: Any) -> str:
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host


def http_fingerprint(kind: str, method: str, url: str, body: Any) -> str:
    """The fingerprint of an HTTP call: ``url`` redacted, ``body`` in its recorded form."""
    where = canonical_url(url)
    if kind == "model":
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in VOLATILE_BODY_FIELDS}
        where = model_path(url)
    canonical = {"kind": kind, "method": method.upper(), "url": where, "body": body}
    return hashlib.sha256(dumps(canonical).encode("utf-8")).hexdigest()


@lru_cache(maxsize=512)
def model_path(url: str) -> str:
    """The model API a URL names: its :data:`MODEL_PATHS` suffix, else its whole path."""
    path = urlsplit(url).path.rstrip("/") or "/"
    for known in sorted(MODEL_PATHS, key=len, reverse=True):
        if path.endswith(known):
            return known
    return path


def tool_fingerprint(name: str, arguments: Any) -> str:
    """The fingerprint of a tool call: its name and its (bound, JSON-safe) arguments."""
    canonical = {"kind": "tool", "name": name, "args": _without_reprs(arguments)}
    return hashlib.sha256(dumps(canonical).encode("utf-8")).hexdigest()


def _without_reprs(value: Any) -> Any:
    if isinstance(value, dict):
        if UNSERIALIZABLE in value:
            return {UNSERIALIZABLE: value[UNSERIALIZABLE]}
        return {k: _without_reprs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_reprs(v) for v in value]
    return value
