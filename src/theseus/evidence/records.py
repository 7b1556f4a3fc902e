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
    """What a replayed case must do: return ``expected``, or at least not raise."""

    kind: Literal["expected", "no_raise"]
    expected: JSON = None


class ReplayCase(_Record):
    task_id: str
    function: str
    input: JSON
    oracle: Oracle


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
