"""runtime stage: serve the agent, hot-swap versions with no session dropped, watch health.

The :class:`Supervisor` (:mod:`.supervisor`) owns the lifecycle: a pool of worker processes
per live version (:mod:`.pool`, :mod:`.worker`), sessions kept in SQLite (:mod:`.sessions`)
and migrated on a version's first message, a router that splits traffic for a canary
(:mod:`.router`), and the health watch that rolls a worse version back by itself
(:mod:`.health`, :mod:`.deploy`). :func:`create_app` (:mod:`.http`) is the HTTP face that
``theseus serve`` runs; :mod:`.client` is the other side of it, used by the cycle to
deploy a promoted commit and wait for the service's verdict.

Imports evidence (workers record failures) and the foundation only. Worker processes
import :mod:`.worker` and nothing heavier, so this face loads its names on first use
rather than pulling the web stack into every worker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from theseus.runtime.auth import AdminToken, admin_headers, load_admin_token
    from theseus.runtime.client import DeployOutcome, DeployVerdict, deploy_and_watch
    from theseus.runtime.discovery import ServiceLocation, find_service
    from theseus.runtime.failures import ServiceError
    from theseus.runtime.health import HealthVerdict, VersionStats, assess
    from theseus.runtime.http import create_app
    from theseus.runtime.sessions import Session, SessionStore
    from theseus.runtime.supervisor import Supervisor

_FACE = {
    "AdminToken": "auth",
    "load_admin_token": "auth",
    "admin_headers": "auth",
    "DeployOutcome": "client",
    "DeployVerdict": "client",
    "deploy_and_watch": "client",
    "ServiceLocation": "discovery",
    "find_service": "discovery",
    "ServiceError": "failures",
    "HealthVerdict": "health",
    "VersionStats": "health",
    "assess": "health",
    "create_app": "http",
    "Session": "sessions",
    "SessionStore": "sessions",
    "Supervisor": "supervisor",
}

__all__ = [
    "AdminToken",
    "DeployOutcome",
    "DeployVerdict",
    "HealthVerdict",
    "ServiceError",
    "ServiceLocation",
    "Session",
    "SessionStore",
    "Supervisor",
    "VersionStats",
    "admin_headers",
    "assess",
    "create_app",
    "deploy_and_watch",
    "find_service",
    "load_admin_token",
]


def __getattr__(name: str) -> Any:
    module = _FACE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
