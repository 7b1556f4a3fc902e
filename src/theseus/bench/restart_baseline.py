"""The deploy most services use, for comparison: one process, the agent imported in-process,
sessions in that process's memory; a new version means stopping it and starting another.

Same HTTP API as ``theseus serve`` for messages, so the benchmark drives both alike.
Run: ``python -m theseus.bench.restart_baseline --root DIR --entrypoint mod:fn --port P``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def create_app(handle: Any) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None)
    sessions: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}

    @app.post("/sessions/{session_id}/messages")
    async def message(session_id: str, request: Request) -> JSONResponse:
        body = await request.json()
        state = sessions.setdefault(session_id, {})
        try:
            reply = handle(body.get("message"), state)
        except Exception as exc:
            return JSONResponse({"error": {"type": "agent_error", "message": str(exc)}}, 502)
        counts[session_id] = counts.get(session_id, 0) + 1
        return JSONResponse({"session": session_id, "reply": reply})

    @app.get("/sessions/{session_id}")
    async def session(session_id: str) -> JSONResponse:
        if session_id not in sessions:
            return JSONResponse({"error": {"type": "unknown_session", "message": session_id}}, 404)
        return JSONResponse(
            {"id": session_id, "state": sessions[session_id], "messages": counts.get(session_id, 0)}
        )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="restart-baseline")
    parser.add_argument("--root", required=True)
    parser.add_argument("--entrypoint", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(args.root).resolve()))
    module, _, attr = args.entrypoint.partition(":")
    handle = getattr(importlib.import_module(module), attr)
    uvicorn.run(
        create_app(handle),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
