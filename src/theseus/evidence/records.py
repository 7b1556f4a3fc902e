"""What evidence is: task records, failure reports, and the batches the curator makes.

These models are the contract between the agent-side SDK, the store, the curator and every
later stage (replay, proposers). They are pydantic models so evidence imported from a file
is validated exactly like evidence recorded live.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from theseus.config import Severity

JSON = Any


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Frame(_Record):
    """One traceback frame; ``file`` is relative to the project root when inside it."""

    file: str
    line: int
    function: str
    code: str = ""


class ErrorInfo(_Record):
    type: str = Field(description="qualified exception type, e.g. 'KeyError'")
    message: str
    frames: list[Frame] = Field(default_factory=list, description="outermost first")
    traceback: str = ""


class RecordedCall(_Record):
    """One outbound call a task made, in order: a model, an HTTP endpoint or a tool.

    Replay in the sandbox serves ``response`` (or raises ``error``) to the candidate's call
    with the same ``seq`` and ``fingerprint`` (:mod:`theseus.evidence.calls`), so an agent
    that calls a model is verified offline. Credentials are never recorded.
    """

    seq: int = Field(description="0-based order of the call within its task")
    kind: Literal["model", "http", "tool"]
    target: str = Field(description="'POST https://host/v1/messages' or 'pkg.mod:tool_fn'")
    fingerprint: str = Field(description="hash of the canonical request: what replay matches")
    request: JSON = None
    response: JSON = None
    error: str | None = Field(default=None, description="'Type: message' when it raised")
    duration_ms: float = 0.0


class TaskRecord(_Record):
    """One call of a ``@theseus.task`` function, as it happened."""

    id: str
    function: str = Field(description="'module:qualname' of the recorded function")
    session_id: str | None = None
    input: JSON = Field(description="{'args': [...], 'kwargs': {...}}, JSON-safe with markers")
    output: JSON = None
    error: ErrorInfo | None = None
    duration_ms: float = 0.0
    code_version: str | None = None
    started_at: float
    idempotent: bool = False
    calls: list[RecordedCall] = Field(
        default_factory=list, description="outbound model/HTTP/tool calls, in order"
    )

    @property
    def failed(self) -> bool:
        return self.error is not None


class FailureReport(_Record):
    """A semantic failure reported after the fact: a wrong answer, a complaint."""

    id: str
    task_id: str
    kind: str = Field(description="declared failure type, e.g. 'wrong_answer'")
    expected: JSON = None
    has_expected: bool = False
    note: str = ""
    severity: Severity = "medium"
    created_at: float


class Oracle(_Record):
    """What a replayed case must do: match ``expected``, or return a value that is right.

    ``expected`` is a plain JSON value (equal) or a matcher (:mod:`theseus.oracles`). A
    ``no_raise`` case (a crash) must return without raising, and: every function in
    ``typed_frames`` (the crash's frames in mutable code, ``path:function``) returns values
    of its annotated type, and the reply validates against ``reply_schema`` (the shape of
    the function's successful replies to inputs of the same kind) when one was inferred.
    """

    kind: Literal["expected", "no_raise"]
    expected: JSON = None
    typed_frames: list[str] = Field(default_factory=list)
    reply_schema: JSON = None


class ReplayCase(_Record):
    task_id: str
    function: str
    input: JSON
    oracle: Oracle
    calls: list[RecordedCall] = Field(
        default_factory=list, description="the task's recorded calls, served again in replay"
    )


class FailureBatch(_Record):
    """All failures sharing one signature, ranked by frequency x severity."""

    signature: str
    kind: Literal["exception", "semantic"]
    title: str = Field(description="one readable line: 'KeyError in skills/orders.py:lookup'")
    count: int
    severity: Severity
    score: float
    first_seen: float
    last_seen: float
    task_ids: list[str]
    cases: list[ReplayCase]
    frames: list[Frame] = Field(default_factory=list, description="a representative trace")
    location: str | None = Field(
        default=None, description="'path:function' innermost mutable frame"
    )
    holdout: list[str] = Field(
        default_factory=list,
        description="task ids of the cases kept from proposers, used only by verification",
    )
