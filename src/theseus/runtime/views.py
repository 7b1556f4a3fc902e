"""What the supervisor shows: its health and its versions, as the JSON the API serves.

Kept apart from :mod:`theseus.runtime.supervisor` because they only read its state: the
supervisor decides, these describe. ``GET /health`` and ``GET /versions`` serve them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from theseus.runtime.supervisor import Supervisor


def versions(sup: Supervisor) -> list[dict[str, Any]]:
    """Every version with a pool: its role in routing, workers, restarts and request stats."""
    router = sup.router
    rows = []
    for commit, pool in sup.pools.items():
        role = "stopped" if pool.closed else ("stopping" if pool.retiring else "standby")
        if router is not None:
            if commit == router.current:
                role = "current"
            elif commit == router.canary:
                role = "canary"
            elif commit in router.failed:
                role = "failed"
            elif commit == router.previous:
                role = "previous" if not pool.closed else "stopped"
        rows.append(
            {
                "version": commit,
                "role": role,
                "workers": pool.pids,
                "restarts": pool.restarts,
                "idempotent": pool.idempotent,
                "stats": sup.stats[commit].sample().as_dict(),
            }
        )
    return rows


def health(sup: Supervisor) -> dict[str, Any]:
    """``status`` is "ok" while the current version has live workers and the service is not
    closing; the rest says what is routed where and what has happened so far."""
    router = sup.router
    current = sup.pools.get(router.current) if router else None
    ok = current is not None and current.serving and not sup.closing
    return {
        "status": "ok" if ok else "unavailable",
        "current": router.current if router else None,
        "previous": router.previous if router else None,
        "canary": router.canary if router else None,
        "watching": sup.watch.version if sup.watch else None,
        "sessions": sup.sessions.count(),
        "counters": dict(sup.counters),
        "uptime_s": time.time() - sup.started_at,
    }
