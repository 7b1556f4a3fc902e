"""Deploy a promoted commit through a running ``theseus serve`` and wait for its verdict.

Without a live service the promotion is the git commit alone; with one, the cycle asks the
service to hot-swap to the commit (POST /deploy) and watches /health until the service's
health watch on that version ends: still current means healthy, anything else a rollback.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from theseus.config import Settings


def service_url(settings: Settings) -> str | None:
    """The live service's base URL when one answers /health, else None."""
    url = f"http://{settings.runtime.host}:{settings.runtime.port}"
    try:
        httpx.get(f"{url}/health", timeout=1.0)
    except httpx.HTTPError:
        return None
    return url


def deploy_and_watch(
    url: str, commit: str, *, health_window: float, grace: float = 30.0
) -> dict[str, Any]:
    """Hot-swap to ``commit`` and wait for the health verdict: ``{"verdict": "healthy" |
    "rolled_back" | "deploy_failed", ...}``; a rollback carries the service's reason.

    The watch lasts ``health_window`` seconds on the service; ``grace`` more covers a slow
    start. A service that never answers /health meanwhile is reported as ``deploy_failed``
    (the commit stands, its fate unknown), not as a rollback it was never seen to make."""
    try:
        answer = httpx.post(f"{url}/deploy", json={"commit": commit}, timeout=120.0)
    except httpx.HTTPError as exc:
        return {"verdict": "deploy_failed", "reason": f"service unreachable: {exc}"}
    body: dict[str, Any] = answer.json() if answer.content else {}
    if answer.status_code != 200:
        return {"verdict": "deploy_failed", "reason": str(body.get("error", body))[:300]}
    if body.get("rolled_back"):
        return {"verdict": "rolled_back", "reason": "canary regressed", "deploy": body}
    deadline = time.monotonic() + health_window + grace
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{url}/health", timeout=5.0).json()
        except (httpx.HTTPError, ValueError):
            time.sleep(0.5)
            continue
        if health.get("watching") != commit:
            break
        time.sleep(0.5)
    if not health:
        return {"verdict": "deploy_failed", "reason": "service stopped answering /health",
                "deploy": body}  # fmt: skip
    if health.get("current") == commit:
        return {"verdict": "healthy", "deploy": body, "live": commit}
    return {"verdict": "rolled_back", "reason": _rollback_reason(url, commit), "deploy": body,
            "live": health.get("current")}  # fmt: skip


def _rollback_reason(url: str, commit: str) -> str:
    """Why the service rolled ``commit`` back, from its own deploy history."""
    try:
        history = httpx.get(f"{url}/versions", timeout=5.0).json().get("history", [])
    except (httpx.HTTPError, ValueError, AttributeError):
        history = []
    for event in reversed(history):
        if event.get("event") == "rollback" and event.get("from") == commit:
            return str(event.get("reason") or "rolled back by the service")
    return "no longer the live version after its health watch"
