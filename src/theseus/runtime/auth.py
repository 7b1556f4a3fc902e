"""Who may steer the live service: the admin credential, session tokens, and body limits.

The control plane (deploy, rollback, events, metrics, versions, any session's state) needs
the admin credential: ``Authorization: Bearer <token>``, compared in constant time. The
token comes from the environment variable named by ``[runtime] admin_token_env``, else from
``[runtime] admin_token_file``, else from ``.theseus/admin.token``, which ``theseus serve``
creates (mode 0600) when nothing is configured, so a local service is never open by
accident and the CLI on the same machine finds the same token. A service listening beyond
loopback must have a token configured explicitly: a file in the project folder is not a
secret a remote operator should depend on.

A session belongs to whoever started it: the reply to its first message carries a
``session_token``, and later messages and reads of that session need it
(``X-Theseus-Session-Token``) or the admin credential. Only a digest of each session token
is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from theseus._atomic import write_text_atomic
from theseus.config import Settings
from theseus.errors import ConfigError

__all__ = [
    "ADMIN_TOKEN_FILE",
    "SESSION_HEADER",
    "AdminToken",
    "admin_headers",
    "bearer",
    "is_loopback",
    "load_admin_token",
    "token_digest",
    "token_from_env",
    "tokens_equal",
]

ADMIN_TOKEN_FILE = "admin.token"
SESSION_HEADER = "X-Theseus-Session-Token"
TokenSource = Literal["env", "file", "generated"]


@dataclass(frozen=True)
class AdminToken:
    """The control-plane credential and where it came from (never printed)."""

    value: str
    source: TokenSource
    where: str

    def __repr__(self) -> str:  # the token itself must never reach a log or a traceback
        return f"AdminToken(source={self.source!r}, where={self.where!r})"


def load_admin_token(settings: Settings, *, create: bool = False) -> AdminToken | None:
    """The configured credential; with ``create`` a new one in ``.theseus/admin.token`` when
    none is configured (what ``theseus serve`` does), else None when there is none."""
    runtime = settings.runtime
    from_env = token_from_env(runtime.admin_token_env)
    if from_env is not None:
        return from_env
    if runtime.admin_token_file:
        path = (settings.root / runtime.admin_token_file).resolve()
        return AdminToken(_read_token(path, "[runtime] admin_token_file"), "file", str(path))
    generated = settings.state_dir / ADMIN_TOKEN_FILE
    if generated.is_file():
        return AdminToken(
            _read_token(generated, "the service's token"), "generated", str(generated)
        )
    if not create:
        return None
    value = secrets.token_urlsafe(32)
    write_text_atomic(generated, value + "\n")  # mkstemp: mode 0600, then renamed
    return AdminToken(value, "generated", str(generated))


def token_from_env(variable: str) -> AdminToken | None:
    """The credential in environment variable ``variable``, if it is set."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    _check_strength(value, f"${variable}")
    return AdminToken(value, "env", f"${variable}")


def _read_token(path: Path, what: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"{what} {path} cannot be read: {exc.strerror}",
            hint="create it with one line holding the token (e.g. `openssl rand -hex 32`)",
        ) from None
    _check_strength(value, str(path))
    return value


def _check_strength(value: str, where: str) -> None:
    if len(value) < 16:
        raise ConfigError(
            f"the admin token in {where} is shorter than 16 characters",
            hint="use a long random value, e.g. `openssl rand -hex 32`",
        )


def tokens_equal(given: str | None, expected: str) -> bool:
    """Constant-time comparison: how long it takes says nothing about how much matched."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def admin_headers(token: AdminToken | None) -> dict[str, str]:
    """Headers a client sends to the control plane."""
    return {"Authorization": f"Bearer {token.value}"} if token is not None else {}


def token_digest(token: str) -> str:
    """What the session store keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an interface to listen on) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
