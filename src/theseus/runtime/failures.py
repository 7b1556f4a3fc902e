"""Errors the live runtime reports to callers, each with the HTTP status it maps to.

They are TheseusErrors (one line: what happened and what to do) so the CLI and the HTTP
layer show them the same way, and a client never sees a traceback.
"""

from __future__ import annotations

from typing import Any

from theseus.errors import TheseusError


class ServiceError(TheseusError):
    """A call could not be answered; ``status`` is the HTTP status the API returns."""

    status = 500
    kind = "service_error"

    def __init__(self, message: str, *, hint: str | None = None, detail: Any = None) -> None:
        super().__init__(message, hint=hint)
        self.detail = detail

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.kind, "message": self.line()}
        if self.detail is not None:
            body["detail"] = self.detail
        return {"error": body}


class BadRequest(ServiceError):
    """The request itself is wrong (bad session id, bad body)."""

    status = 400
    kind = "bad_request"


class Unauthorized(ServiceError):
    """The request lacks the credential the endpoint needs (admin, or the session's own)."""

    status = 401
    kind = "unauthorized"


class Refused(ServiceError):
    """An authenticated request the service will not carry out (e.g. an unpromoted commit)."""

    status = 403
    kind = "refused"


class UnknownVersion(ServiceError):
    status = 404
    kind = "unknown_version"
    exit_code = 4


class AgentError(ServiceError):
    """The agent's code raised: its answer to this message is an error."""

    status = 502
    kind = "agent_error"


class WorkerCrashed(ServiceError):
    """The worker died with the message in flight and it could not be retried."""

    status = 502
    kind = "worker_crashed"


class CallTimedOut(ServiceError):
    status = 504
    kind = "timeout"


class Unavailable(ServiceError):
    """No version can serve right now (starting, stopping, or every version failed)."""

    status = 503
    kind = "unavailable"


class DeployFailed(ServiceError):
    """A deploy did not reach cut-over; traffic stays where it was."""

    status = 409
    kind = "deploy_failed"


class NoSession(ServiceError):
    status = 404
    kind = "unknown_session"
    exit_code = 4


class NoTask(ServiceError):
    """A report names a task the service never recorded."""

    status = 404
    kind = "unknown_task"
    exit_code = 4
