"""The client side of ``theseus serve``: deploy a commit and wait for the service's verdict.

Without a live service a promotion is the git commit alone; with one, the cycle asks the
service to hot-swap to the commit (POST /deploy) and watches /health until the service's
health watch on that version ends: still current means healthy, anything else a rollback.
It lives beside the server it talks to, so the HTTP contract has one home.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from theseus.runtime.auth import AdminToken, admin_headers

__all__ = ["DeployOutcome", "DeployVerdict", "deploy_and_watch"]

DeployOutcome = Literal["healthy", "rolled_back", "deploy_failed"]


@dataclass(frozen=True)
class DeployVerdict:
    """How one deploy through a live service ended.

    ``healthy``: the commit is live after its health watch. ``rolled_back``: the service
    went back to another version (``reason`` is the service's own). ``deploy_failed``: the
    deploy was refused, or the service stopped answering; the commit's fate is unknown,
    which is never reported as a rollback nobody saw.
    """

    verdict: DeployOutcome
    reason: str = ""
    live: str | None = None
    deploy: dict[str, Any] = field(default_factory=dict)

    @property
    def rolled_back(self) -> bool:
        return self.verdict == "rolled_back"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"verdict": self.verdict}
        if self.reason:
            data["reason"] = self.reason
        if self.deploy:
            data["deploy"] = self.deploy
        if self.live is not None:
            data["live"] = self.live
        return data


def deploy_and_watch(
    url: str,
    commit: str,
    *,
    health_window: float,
    grace: float = 30.0,
    token: AdminToken | None = None,
) -> DeployVerdict:
    """Hot-swap to ``commit`` and wait for the health verdict.

    ``token`` is the service's admin credential (:func:`load_admin_token`). The watch
    lasts ``health_window`` seconds on the service; ``grace`` more covers a slow start. A
    service that never answers /health meanwhile is ``deploy_failed``."""
    headers = admin_headers(token)
    try:
        answer = httpx.post(
            f"{url}/deploy", json={"commit": commit}, headers=headers, timeout=120.0
        )
    except httpx.HTTPError as exc:
        return DeployVerdict("deploy_failed", f"service unreachable: {exc}")
    body = _json_object(answer)
    if answer.status_code != 200:
        return DeployVerdict("deploy_failed", str(body.get("error", body))[:300])
    if body.get("rolled_back"):
        return DeployVerdict("rolled_back", "canary regressed", deploy=body)
    deadline = time.monotonic() + health_window + grace
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            health = _json_object(httpx.get(f"{url}/health", timeout=5.0), strict=True)
        except (httpx.HTTPError, ValueError):
            time.sleep(0.5)
            continue
        if health.get("watching") != commit:
            break
        time.sleep(0.5)
    if not health:
        return DeployVerdict("deploy_failed", "service stopped answering /health", deploy=body)
    if health.get("current") == commit:
        return DeployVerdict("healthy", deploy=body, live=commit)
    live = health.get("current")
    return DeployVerdict(
        "rolled_back",
        _rollback_reason(url, commit, headers),
        deploy=body,
        live=str(live) if live is not None else None,
    )


def _json_object(answer: httpx.Response, *, strict: bool = False) -> dict[str, Any]:
    """The response body as a JSON object ({} when empty; with ``strict`` a ValueError when
    it is not one, so a broken /health counts as no answer)."""
    if not answer.content:
        if strict:
            raise ValueError("empty body")
        return {}
    try:
        body = answer.json()
    except ValueError:
        if strict:
            raise
        return {"error": answer.text[:300]}
    if not isinstance(body, dict):
        if strict:
            raise ValueError("not a JSON object")
        return {"error": str(body)[:300]}
    return body


def _rollback_reason(url: str, commit: str, headers: dict[str, str]) -> str:
    """Why the service rolled ``commit`` back, from its own deploy history."""
    try:
        versions = httpx.get(f"{url}/versions", headers=headers, timeout=5.0)
        history = versions.json().get("history", [])
    except (httpx.HTTPError, ValueError, AttributeError):
        history = []
    for event in reversed(history):
        if event.get("event") == "rollback" and event.get("from") == commit:
            return str(event.get("reason") or "rolled back by the service")
    return "no longer the live version after its health watch"
