"""The service's HTTP API (Starlette via FastAPI): messages, health, versions, metrics,
and the deploy / rollback endpoints ``theseus deploy`` and ``theseus rollback`` call.

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

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from theseus.errors import NotFound, TheseusError
from theseus.runtime import deploy as swap
from theseus.runtime import views
from theseus.runtime.failures import BadRequest, NoSession, ServiceError
from theseus.runtime.metrics import render
from theseus.runtime.supervisor import Supervisor


class MessageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: Any = Field(description="any JSON value; the agent's entrypoint receives it")


class DeployBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    commit: str = Field(min_length=1, max_length=200)
    canary_share: float | None = Field(default=None, ge=0.0, le=1.0)


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str | None = Field(default=None, max_length=200)


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


def create_app(sup: Supervisor, *, start_ref: str | None = None) -> FastAPI:
    """The ASGI app for ``sup``; with ``start_ref`` the app starts and stops the supervisor."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_ref is not None:
            await sup.start(start_ref)
        try:
            yield
        finally:
            if start_ref is not None:
                await sup.close()

    app = FastAPI(title="Theseus agent service", lifespan=lifespan, docs_url=None, redoc_url=None)

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
    async def post_message(session_id: str, body: MessageBody) -> dict[str, Any]:
        result = await sup.handle(session_id, body.message)
        return {
            "session": result.session,
            "reply": result.reply,
            "version": result.version,
            "migrated": result.migrated,
            "task_id": result.task_id,
        }

    @app.get("/sessions/{session_id}")
    async def get_session(session_id: str) -> dict[str, Any]:
        session = sup.sessions.get(session_id)
        if session is None:
            raise NoSession(f"no session {session_id[:40]!r}", hint="POST a message to create it")
        return session.as_dict()

    @app.get("/health")
    async def health() -> JSONResponse:
        body = views.health(sup)
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    @app.get("/versions")
    async def versions() -> dict[str, Any]:
        return {"versions": views.versions(sup), "history": list(sup.deploy_history)}

    @app.get("/events")
    async def events(limit: int = 100) -> dict[str, Any]:
        if not 1 <= limit <= 500:
            raise BadRequest("limit must be between 1 and 500")
        return {"events": list(sup.events.recent)[-limit:]}

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(render(sup), media_type="text/plain; version=0.0.4")

    @app.post("/deploy")
    async def post_deploy(body: DeployBody) -> dict[str, Any]:
        return await swap.deploy(sup, body.commit, canary_share=body.canary_share)

    @app.post("/rollback")
    async def post_rollback(body: RollbackBody | None = None) -> dict[str, Any]:
        return await swap.rollback(sup, body.version if body else None)

    return app
