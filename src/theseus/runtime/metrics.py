"""The supervisor's numbers in the Prometheus text exposition format (version 0.0.4)."""

from __future__ import annotations

from collections.abc import Sequence

from theseus.runtime.supervisor import Supervisor


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(sup: Supervisor) -> str:
    """Every metric with its HELP and TYPE lines, one sample per line."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: Sequence[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{labels} {value:g}")

    per_version = sorted(sup.stats.items())

    def label(version: str, **more: str) -> str:
        pairs = {"version": version[:12], **more}
        return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs.items()) + "}"

    metric(
        "theseus_requests_total",
        "counter",
        "Messages answered, by version and outcome.",
        [(label(v, outcome="ok"), s.requests - s.errors) for v, s in per_version]
        + [(label(v, outcome="error"), s.errors) for v, s in per_version],
    )
    metric(
        "theseus_task_failures_total",
        "counter",
        "Calls that did not complete on the version (raised, crashed or timed out).",
        [(label(v), s.task_failures) for v, s in per_version],
    )
    metric(
        "theseus_worker_restarts_total",
        "counter",
        "Worker processes restarted after a crash.",
        [(label(v), s.restarts) for v, s in per_version],
    )
    quantiles = []
    for version, stats in per_version:
        sample = stats.sample()
        for q, value in (("0.5", sample.p50_ms), ("0.95", sample.p95_ms)):
            if value is not None:
                quantiles.append((label(version, quantile=q), value / 1000.0))
    metric(
        "theseus_request_latency_seconds",
        "gauge",
        "Latency quantiles over the last 5000 messages of each version.",
        quantiles,
    )
    metric(
        "theseus_workers",
        "gauge",
        "Live worker processes per version.",
        [(label(v), len(p.pids)) for v, p in sorted(sup.pools.items())],
    )
    metric(
        "theseus_sessions",
        "gauge",
        "Sessions known to the supervisor.",
        [("", sup.sessions.count())],
    )
    for key, help_text in (
        ("sessions_migrated", "Session states migrated to a new version."),
        ("migration_failures", "Migrations that raised; the session stayed on its version."),
        ("rollbacks", "Rollbacks, automatic and by hand."),
        ("retries", "In-flight idempotent messages retried after a worker crash."),
    ):
        metric(f"theseus_{key}_total", "counter", help_text, [("", sup.counters.get(key, 0))])
    current = sup.router.current if sup.router else None
    metric(
        "theseus_current_version_info",
        "gauge",
        "The version serving new sessions.",
        [(label(current), 1)] if current else [],
    )
    return "\n".join(lines) + "\n"
