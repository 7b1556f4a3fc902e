"""Where the live service is: recorded by ``theseus serve``, found by ``evolve`` and ``deploy``.

A service started on another port than ``[runtime] port`` (``serve --port``, the demo's free
port, a second project on the same machine) used to be invisible to the cycle: fixes were
committed and never hot-swapped, and only the audit log's ``"live": null`` said so. Now
``serve`` writes ``.theseus/service.json`` (its URL, pid and start time) once it listens and
removes it when it stops; :func:`find_service` takes an explicit URL as given, else tries
that record (if its process still runs and ``/health`` answers) and then the configured
host and port, and says which it used, or in one line why there is no live service.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from theseus._atomic import write_text_atomic
from theseus.config import Settings

__all__ = ["SERVICE_FILE", "ServiceLocation", "find_service", "forget_service", "record_service"]

SERVICE_FILE = "service.json"


@dataclass(frozen=True)
class ServiceLocation:
    """The live service (``url`` None when there is none) and how that was decided."""

    url: str | None
    how: str

    def describe(self) -> str:
        return f"{self.url} ({self.how})" if self.url else self.how


def _record_path(settings: Settings) -> Path:
    return settings.state_dir / SERVICE_FILE


def record_service(settings: Settings, url: str) -> None:
    """Say where this process serves the project (atomically; the last serve wins)."""
    body = {"url": url, "pid": os.getpid(), "started_at": time.time()}
    write_text_atomic(_record_path(settings), json.dumps(body) + "\n")


def forget_service(settings: Settings) -> None:
    """Remove the record, if it is this process's (another serve may have replaced it)."""
    path = _record_path(settings)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1.0).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_service(settings: Settings, url: str | None = None) -> ServiceLocation:
    """The live service for this project, or why there is none (never raises)."""
    if url:  # named by the caller: used as given (a deploy to it that fails says so)
        return ServiceLocation(url.rstrip("/"), "given")
    tried: list[str] = []
    path = _record_path(settings)
    try:
        recorded = json.loads(path.read_text())
    except FileNotFoundError:
        recorded = None
    except (OSError, ValueError):
        recorded = None
        tried.append(f"{path} is unreadable")
    if isinstance(recorded, dict) and isinstance(recorded.get("url"), str):
        base = recorded["url"].rstrip("/")
        if not _alive(recorded.get("pid")):
            tried.append(f"the service recorded at {base} has stopped")
        elif _answers(base):
            return ServiceLocation(base, f"recorded by theseus serve, pid {recorded['pid']}")
        else:
            tried.append(f"the service recorded at {base} does not answer")
    configured = f"http://{settings.runtime.host}:{settings.runtime.port}"
    if _answers(configured):
        return ServiceLocation(configured, "[runtime] host and port")
    tried.append(f"nothing answers at {configured} ([runtime] host and port)")
    return ServiceLocation(None, "no live service: " + "; ".join(tried))
