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


def deploy_and_watch(url: str, commit: str, settings: Settings) -> dict[str, Any]:
    """Hot-swap to ``commit`` and wait for the health verdict: ``{"verdict": "healthy" |
    "rolled_back" | "deploy_failed", ...}``."""
    try:
        answer = httpx.post(f"{url}/deploy", json={"commit": commit}, timeout=120.0)
    except httpx.HTTPError as exc:
        return {"verdict": "deploy_failed", "reason": f"service unreachable: {exc}"}
    body: dict[str, Any] = answer.json() if answer.content else {}
    if answer.status_code != 200:
        return {"verdict": "deploy_failed", "reason": str(body.get("error", body))[:300]}
    if body.get("rolled_back"):
        return {"verdict": "rolled_back", "reason": "canary regressed", "deploy": body}
    deadline = time.monotonic() + settings.runtime.health_window + 30.0
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
    healthy = health.get("current") == commit
    verdict = "healthy" if healthy else "rolled_back"
    return {"verdict": verdict, "deploy": body, "live": health.get("current")}
