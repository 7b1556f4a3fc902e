"""`theseus serve`, `theseus deploy COMMIT`, `theseus rollback [VERSION]`.

`serve` runs the supervisor and its HTTP API in this process; `deploy` and `rollback` talk
to that running service over HTTP, so a swap never needs a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from theseus.cli.output import console, emit, json_option, project_option, table
from theseus.config import load_settings
from theseus.errors import ConfigError, TheseusError

url_option = click.option(
    "--url",
    default=None,
    help="The running service, e.g. http://127.0.0.1:8700 (default: where `theseus serve`"
    " recorded it listens, else [runtime] host and port).",
)


def _target(project: str | None, url: str | None) -> tuple[str, dict[str, str]]:
    """The service's URL and the headers that carry its admin credential."""
    from theseus.config import RuntimeSettings
    from theseus.runtime.auth import admin_headers, load_admin_token, token_from_env

    try:
        settings = load_settings(Path(project) if project else None, check_globs=False)
    except ConfigError:
        if not url:
            raise
        settings = None  # a service named by URL alone: the credential comes from the env
    if settings is not None:
        from theseus.runtime.discovery import find_service

        found = find_service(settings).url if not url else None
        base = url or found or f"http://{settings.runtime.host}:{settings.runtime.port}"
        token = load_admin_token(settings)
        variable = settings.runtime.admin_token_env
    else:
        base, variable = str(url), RuntimeSettings().admin_token_env
        token = token_from_env(variable)
    if token is None:
        raise TheseusError(
            "no admin credential for the service",
            hint=f"export ${variable}, or run this in the service's project folder"
            " (where `theseus serve` wrote .theseus/admin.token)",
        )
    return base.rstrip("/"), admin_headers(token)


def _post(
    target: tuple[str, dict[str, str]], path: str, body: dict[str, Any], timeout: float = 300.0
) -> dict[str, Any]:
    import httpx

    base, headers = target
    try:
        response = httpx.post(f"{base}{path}", json=body, headers=headers, timeout=timeout)
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
@click.option(
    "--stop-with",
    "parent",
    type=click.IntRange(1),
    default=None,
    metavar="PID",
    help="Stop (cleanly, workers too) when process PID exits; `theseus demo` uses it so a"
    " killed demo leaves no service behind.",
)
def serve(
    project: str | None, ref: str, host: str | None, port: int | None, parent: int | None
) -> None:
    """Serve the agent over HTTP under the supervisor.

    Starts worker processes on the given commit, keeps every session's state in
    .theseus/sessions.db, and accepts hot swaps from `theseus deploy`. Endpoints:
    POST /sessions/{id}/messages {"message": ...} (open; the first reply's session_token
    is needed for that session's later messages); POST /tasks/{id}/reports (a wrong answer,
    with that task's session token or the admin credential); GET /health (open); GET /versions,
    /metrics, /events, /sessions/{id} and POST /deploy, /rollback need the admin credential
    ($THESEUS_ADMIN_TOKEN, or .theseus/admin.token, made here on first start). Listening
    beyond loopback needs a configured credential. Records where it listens in
    .theseus/service.json, so `evolve`, `deploy` and `evidence report` find it on any port.
    Stops cleanly (no worker left) on Ctrl-C or SIGTERM.
    """
    try:
        import uvicorn

        from theseus.runtime.http import create_app
    except ImportError as exc:
        raise TheseusError(
            f"theseus serve needs FastAPI and uvicorn, and {exc.name or 'one'} is not installed",
            hint='pip install "theseus-evolve[serve]" into this environment',
        ) from None
    from theseus.cli.readiness import port_holder
    from theseus.lineage.audit import AuditLog
    from theseus.runtime.auth import is_loopback, load_admin_token
    from theseus.runtime.discovery import forget_service
    from theseus.runtime.supervisor import Supervisor

    settings = load_settings(Path(project) if project else None)
    listen = host or settings.runtime.host
    token = load_admin_token(settings)
    if not is_loopback(listen) and (token is None or token.source == "generated"):
        raise TheseusError(
            f"refusing to listen on {listen}, beyond this machine, without a configured"
            " admin credential",
            hint=f"export ${settings.runtime.admin_token_env} (or set [runtime]"
            " admin_token_file), or listen on 127.0.0.1",
        )
    token = token or load_admin_token(settings, create=True)
    bind_port = settings.runtime.port if port is None else port
    held = port_holder(listen, bind_port) if bind_port else None
    if held is not None:  # before any worker starts, and in one line rather than uvicorn's log
        raise TheseusError(
            f"cannot listen on {listen}:{bind_port}: {held}",
            hint="stop what holds it, or pick another with --port or [runtime] port",
        )
    _Server = _server_class()
    audit = AuditLog(settings.state_dir / "audit.jsonl")

    async def run() -> None:
        sup = Supervisor(
            settings,
            on_event=lambda kind, payload: audit.append(
                kind, payload, actor=str(payload.get("actor", "runtime"))
            ),
        )
        try:
            commit = await sup.start(ref)
            config = uvicorn.Config(
                create_app(sup, admin_token=token.value if token else None),
                host=listen,
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
            if parent is not None:
                _stop_when_gone(parent, server)
            announce = asyncio.ensure_future(_record_when_listening(settings, server, listen))
            await server.serve()
            announce.cancel()
        finally:
            forget_service(settings)
            await sup.close()

    asyncio.run(run())


async def _record_when_listening(settings: Any, server: Any, host: str) -> None:
    """Once uvicorn listens, record where (``.theseus/service.json``), so `evolve` and
    `deploy` find this service on whatever port it got (runtime/discovery.py)."""
    from theseus.runtime.discovery import record_service

    while not server.started:
        await asyncio.sleep(0.05)
    port = next((sock.getsockname()[1] for srv in server.servers for sock in srv.sockets), None)
    if port is None:
        return
    local = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    local = f"[{local}]" if ":" in local else local
    record_service(settings, f"http://{local}:{port}")


def _stop_when_gone(pid: int, server: Any) -> None:
    """Ask ``server`` to stop once process ``pid`` has exited (at once if it already has).

    A pidfd becomes readable when its process ends: no polling, no pid-reuse race."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        server.should_exit = True

    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        stop()
        return

    def gone() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        stop()

    loop.add_reader(pidfd, gone)


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
@click.option(
    "--force",
    is_flag=True,
    help="Deploy a commit the gate did not promote (recorded in the audit log with your name).",
)
@json_option
def deploy(
    commit: str,
    project: str | None,
    url: str | None,
    canary: float | None,
    force: bool,
    as_json: bool,
) -> None:
    """Hot-swap the running service to COMMIT (a commit id, tag or branch).

    New workers start and warm beside the old ones, then traffic cuts over at once; no
    session is dropped. The old version stays warm through the health window and traffic
    returns to it by itself if the new one regresses. Only commits the gate promoted are
    taken; anything else needs --force, which the service audits with the actor.
    """
    from theseus.lineage.state import current_actor

    body: dict[str, Any] = {"commit": commit, "canary_share": canary}
    if force:
        body.update(force=True, actor=current_actor())
    report = _post(_target(project, url), "/deploy", body)

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
    report = _post(_target(project, url), "/rollback", body)
    emit(
        report,
        as_json,
        lambda: console.print(
            f"rolled back {report['from'][:12]} -> [bold]{report['to'][:12]}[/]"
            f" (routing change in {report['rollback_ms']:.3f} ms)",
            highlight=False,
        ),
    )
