"""`theseus serve`, `theseus deploy COMMIT`, `theseus rollback [VERSION]`.

`serve` runs the supervisor and its HTTP API in this process; `deploy` and `rollback` talk
to that running service over HTTP, so a swap never needs a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from theseus.cli.output import console, emit, json_option, project_option, table
from theseus.config import load_settings
from theseus.errors import TheseusError

url_option = click.option(
    "--url",
    default=None,
    help="The running service, e.g. http://127.0.0.1:8700 (default: [runtime] host and port).",
)


def _url(project: str | None, url: str | None) -> str:
    if url:
        return url.rstrip("/")
    settings = load_settings(Path(project) if project else None, check_globs=False)
    return f"http://{settings.runtime.host}:{settings.runtime.port}"


def _post(base: str, path: str, body: dict[str, Any], timeout: float = 300.0) -> dict[str, Any]:
    import httpx

    try:
        response = httpx.post(f"{base}{path}", json=body, timeout=timeout)
    except httpx.TransportError as exc:
        raise TheseusError(
            f"cannot reach the service at {base}: {exc}",
            hint="start it with `theseus serve`, or pass --url",
        ) from None
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400:
        error = data.get("error", {}) if isinstance(data, dict) else {}
        message = error.get("message") if isinstance(error, dict) else None
        failure = TheseusError(message or f"the service answered HTTP {response.status_code}")
        failure.exit_code = 4 if response.status_code == 404 else 2
        raise failure
    if not isinstance(data, dict):
        raise TheseusError(f"the service at {base} did not answer with JSON")
    return data


@click.command()
@project_option
@click.option(
    "--version",
    "ref",
    default="HEAD",
    show_default=True,
    help="Commit (or tag/branch) of the agent repository to serve first.",
)
@click.option("--host", default=None, help="Interface to listen on (default: [runtime] host).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to listen on (default: [runtime] port).",
)
def serve(project: str | None, ref: str, host: str | None, port: int | None) -> None:
    """Serve the agent over HTTP under the supervisor.

    Starts worker processes on the given commit, keeps every session's state in
    .theseus/sessions.db, and accepts hot swaps from `theseus deploy`. Endpoints:
    POST /sessions/{id}/messages {"message": ...}; GET /health, /versions, /metrics,
    /events; POST /deploy, /rollback. Stops cleanly (no worker left) on Ctrl-C or SIGTERM.
    """
    import uvicorn

    from theseus.lineage.audit import AuditLog
    from theseus.runtime.http import create_app
    from theseus.runtime.supervisor import Supervisor

    settings = load_settings(Path(project) if project else None)
    _Server = _server_class()
    audit = AuditLog(settings.state_dir / "audit.jsonl")

    async def run() -> None:
        sup = Supervisor(settings, on_event=lambda kind, payload: audit.append(kind, payload))
        try:
            commit = await sup.start(ref)
            config = uvicorn.Config(
                create_app(sup),
                host=host or settings.runtime.host,
                port=settings.runtime.port if port is None else port,
                log_level="warning",
                access_log=False,
            )
            server = _Server(config)
            console.print(
                f"serving [bold]{commit[:12]}[/] on http://{config.host}:{config.port}"
                f" ({settings.runtime.workers_per_version} workers); Ctrl-C stops",
                highlight=False,
            )
            await server.serve()
        finally:
            await sup.close()

    asyncio.run(run())


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises a caught SIGTERM after its own shutdown, which would kill the
        process before the supervisor stops its workers; here the signal only asks uvicorn
        to stop, and `serve` returns normally once everything is closed."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            originals = {
                sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
            }
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

    return Server


@click.command()
@click.argument("commit")
@project_option
@url_option
@click.option(
    "--canary",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Share of new sessions to send to the new version before cut-over.",
)
@json_option
def deploy(
    commit: str, project: str | None, url: str | None, canary: float | None, as_json: bool
) -> None:
    """Hot-swap the running service to COMMIT (a commit id, tag or branch).

    New workers start and warm beside the old ones, then traffic cuts over at once; no
    session is dropped. The old version stays warm through the health window and traffic
    returns to it by itself if the new one regresses.
    """
    report = _post(_url(project, url), "/deploy", {"commit": commit, "canary_share": canary})

    def render() -> None:
        if report.get("rolled_back"):
            console.print(f"[red]canary of {report['version'][:12]} regressed; rolled back[/]")
            return
        rows = [
            ("version", report["version"][:12]),
            ("previous", report["previous"][:12]),
            ("workers warm after", f"{report['warm_ms']:.0f} ms"),
            ("cut-over after warm", f"{report['cutover_ms']:.3f} ms"),
            ("deploy to cut-over", f"{report['deploy_to_cutover_ms']:.0f} ms"),
        ]
        console.print(table("deployed", ["", ""], rows))

    emit(report, as_json, render)


@click.command()
@click.argument("version", required=False)
@project_option
@url_option
@json_option
def rollback(version: str | None, project: str | None, url: str | None, as_json: bool) -> None:
    """Send traffic back to VERSION (default: the previous good version), by hand.

    A routing change: the version rolled back from is marked failed, recorded as evidence
    and in the audit log; its sessions move back at their next message.
    """
    body = {"version": version} if version else {}
    report = _post(_url(project, url), "/rollback", body)
    emit(
        report,
        as_json,
        lambda: console.print(
            f"rolled back {report['from'][:12]} -> [bold]{report['to'][:12]}[/]"
            f" (routing change in {report['rollback_ms']:.3f} ms)",
            highlight=False,
        ),
    )
