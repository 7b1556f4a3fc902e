"""The service's HTTP API (Starlette via FastAPI): messages, health, versions, metrics,
and the deploy / rollback endpoints ``theseus deploy`` and ``theseus rollback`` call.

Only ``/health`` and a session's own messages are open. Everything that steers or watches
the service (deploy, rollback, versions, events, metrics, reading any session) needs the
admin credential (:mod:`.auth`); a session's messages and state need the token its first
reply carried. ``/deploy`` takes only commits the gate promoted unless ``force`` is given,
which is audited with the actor. Bodies over ``[runtime] max_body_bytes`` get 413 unread.

Every error a client can cause is a 4xx with a JSON body ``{"error": {"type", "message"}}``;
a failure of the agent is a 5xx with the same shape; nothing ever answers with a traceback.
A reply names the evidence ``task_id`` the agent's call was recorded under (None when the
entrypoint is not a ``@theseus.task``); so does the ``detail`` of an ``agent_error``,
``worker_crashed`` or ``timeout``, so a client can ``report_failure`` against it.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from theseus.errors import NotFound, TheseusError
from theseus.runtime import deploy as swap
from theseus.runtime import views
from theseus.runtime.admission import promoted_candidate
from theseus.runtime.auth import SESSION_HEADER, bearer, tokens_equal
from theseus.runtime.failures import BadRequest, NoSession, Refused, ServiceError, Unauthorized
from theseus.runtime.limits import BodyLimit
from theseus.runtime.metrics import render
from theseus.runtime.reports import ReportBody, file_report, reported_task
from theseus.runtime.supervisor import Supervisor
from theseus.runtime.versions import resolve_commit


class MessageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: Any = Field(description="any JSON value; the agent's entrypoint receives it")


class DeployBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    commit: str = Field(min_length=1, max_length=200)
    canary_share: float | None = Field(default=None, ge=0.0, le=1.0)
    force: bool = Field(default=False, description="deploy a commit the gate did not promote")
    actor: str | None = Field(default=None, max_length=100, description="who forced it")


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str | None = Field(default=None, max_length=200)


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


def create_app(
    sup: Supervisor, *, admin_token: str | None, start_ref: str | None = None
) -> FastAPI:
    """The ASGI app for ``sup``; with ``start_ref`` the app starts and stops the supervisor.

    ``admin_token`` is the control-plane credential; None closes the control plane to
    everyone (a service nobody can steer is safer than one anybody can)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_ref is not None:
            await sup.start(start_ref)
        try:
            yield
        finally:
            if start_ref is not None:
                await sup.close()

    app = FastAPI(
        title="Theseus agent service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(BodyLimit, limit=sup.runtime.max_body_bytes)

    def is_admin(authorization: str | None) -> bool:
        return admin_token is not None and tokens_equal(bearer(authorization), admin_token)

    def admin(authorization: str | None = Header(default=None)) -> None:
        if not is_admin(authorization):
            raise Unauthorized(
                "this endpoint needs the service's admin credential",
                hint="send `Authorization: Bearer <token>` ($THESEUS_ADMIN_TOKEN, or"
                " .theseus/admin.token on the service's machine)",
            )

    def session_access(
        session_id: str,
        authorization: str | None,
        session_token: str | None,
    ) -> None:
        if not sup.runtime.session_tokens or is_admin(authorization):
            return
        if sup.sessions.digest(session_id) is None:
            return  # nobody owns it yet: the message that claims it is let through
        if not sup.sessions.token_ok(session_id, session_token):
            raise Unauthorized(
                f"session {session_id[:40]!r} belongs to another client",
                hint=f"send the session_token of its first reply as {SESSION_HEADER}",
            )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return _error(
            422,
            "invalid_request",
            f"{where}: {first.get('msg', 'invalid')} (send a JSON object as documented)",
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(exc.as_json(), status_code=exc.status)

    @app.exception_handler(TheseusError)
    async def theseus_error(request: Request, exc: TheseusError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 400
        return _error(status, type(exc).__name__, exc.line())

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        print(f"theseus: internal error on {request.url.path}: {exc!r}", file=sys.stderr)
        return _error(500, "internal_error", f"internal error: {type(exc).__name__}")

    @app.post("/sessions/{session_id}/messages")
    async def post_message(
        session_id: str,
        body: MessageBody,
        authorization: str | None = Header(default=None),
        session_token: str | None = Header(default=None, alias=SESSION_HEADER),
    ) -> dict[str, Any]:
        sup.check_session_id(session_id)
        session_access(session_id, authorization, session_token)
        issued = sup.sessions.claim(session_id) if sup.runtime.session_tokens else None
        try:
            result = await sup.handle(session_id, body.message)
        except ServiceError as exc:
            if issued is not None:  # the session is the client's even if the agent failed
                detail = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
                exc.detail = {**detail, "session_token": issued}
            raise
        answer = {
            "session": result.session,
            "reply": result.reply,
            "version": result.version,
            "migrated": result.migrated,
            "task_id": result.task_id,
        }
        if issued is not None:
            answer["session_token"] = issued
        return answer

    @app.get("/sessions/{session_id}")
    async def get_session(
        session_id: str,
        authorization: str | None = Header(default=None),
        session_token: str | None = Header(default=None, alias=SESSION_HEADER),
    ) -> dict[str, Any]:
        if not is_admin(authorization) and not sup.sessions.token_ok(session_id, session_token):
            raise Unauthorized(
                "reading a session needs its session_token or the admin credential",
                hint=f"send {SESSION_HEADER}, or `Authorization: Bearer <admin token>`",
            )
        session = sup.sessions.get(session_id)
        if session is None:
            raise NoSession(f"no session {session_id[:40]!r}", hint="POST a message to create it")
        return session.as_dict()

    @app.post("/tasks/{task_id}/reports", status_code=201)
    async def post_report(
        task_id: str,
        body: ReportBody,
        authorization: str | None = Header(default=None),
        session_token: str | None = Header(default=None, alias=SESSION_HEADER),
    ) -> dict[str, Any]:
        task = reported_task(sup, task_id)
        if not is_admin(authorization):
            owner = task.session_id
            if owner is None or not sup.sessions.token_ok(owner, session_token):
                raise Unauthorized(
                    "reporting on this task needs its session's token or the admin credential",
                    hint=f"send the session_token of the task's session as {SESSION_HEADER}",
                )
        report = await file_report(sup, task, body)
        return {"report_id": report.id, "task_id": task.id, "kind": report.kind}

    @app.get("/health")
    async def health() -> JSONResponse:
        body = views.health(sup)
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    @app.get("/versions", dependencies=[Depends(admin)])
    async def versions() -> dict[str, Any]:
        return {"versions": views.versions(sup), "history": list(sup.deploy_history)}

    @app.get("/events", dependencies=[Depends(admin)])
    async def events(limit: int = 100) -> dict[str, Any]:
        if not 1 <= limit <= 500:
            raise BadRequest("limit must be between 1 and 500")
        return {"events": list(sup.events.recent)[-limit:]}

    @app.get("/metrics", dependencies=[Depends(admin)])
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(render(sup), media_type="text/plain; version=0.0.4")

    @app.post("/deploy", dependencies=[Depends(admin)])
    async def post_deploy(body: DeployBody) -> dict[str, Any]:
        commit = resolve_commit(sup.settings.root, body.commit)
        candidate = promoted_candidate(sup.settings, commit)
        if candidate is None and not body.force:
            raise Refused(
                f"{commit[:12]} is not a commit the gate promoted",
                hint="deploy what `theseus evolve` promoted, or pass --force (audited)",
            )
        if candidate is None:
            sup.events.emit(
                "deploy",
                {"event": "forced", "version": commit, "actor": body.actor or "unknown"},
            )
        return await swap.deploy(sup, commit, canary_share=body.canary_share)

    @app.post("/rollback", dependencies=[Depends(admin)])
    async def post_rollback(body: RollbackBody | None = None) -> dict[str, Any]:
        return await swap.rollback(sup, body.version if body else None)

    return app
