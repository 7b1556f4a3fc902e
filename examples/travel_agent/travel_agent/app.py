"""Entrypoint of the example travel agent (protected: candidates never edit this file).

``handle(message, state) -> reply``
  message  the traveller's message: ``{"text": str, "date": "YYYY-MM-DD"}`` (``date`` is the
           traveller's local date, which decides refunds and whether a booking has started;
           the machine's date when missing) or a plain string, taken as ``{"text": message}``.
  state    the session's dict, mutated in place: ``schema``, ``turns``, and the keys of
           session.py (traveller, loyalty number, last flight searched, cancellations).
  reply    ``{"intent": str, "text": str, "data": {...}}`` (see replies.py).

One message is one model call (model.decide: the text only, never the state), then the
harness (router.route) runs the tool the model chose and writes the reply. Theseus records
the model call with the task, so a failing message can be replayed offline.

``migrate(state, from_version, to_version) -> state`` upgrades a session's state when the
runtime moves it to new code; ``last_task_id()`` gives the evidence id of this context's last
call, so a client can report a wrong answer against it.
"""

from __future__ import annotations

import contextvars
from datetime import date
from typing import Any

import theseus
from travel_agent import model, replies, router, session

STATE_SCHEMA = 2
_last_task: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "travel_agent_last_task", default=None
)


@theseus.task
def handle(message: Any, state: dict[str, Any]) -> replies.Reply:
    """Answer one traveller message of a session whose state is ``state``."""
    _last_task.set(theseus.current_task_id())
    if isinstance(message, str):
        message = {"text": message}
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        return replies.bad_request()
    try:
        today = date.fromisoformat(message["date"]) if "date" in message else date.today()
    except (TypeError, ValueError):
        return replies.bad_request()
    state.setdefault("schema", STATE_SCHEMA)
    state["turns"] = int(state.get("turns", 0)) + 1
    decision = model.decide(message["text"])
    if isinstance(decision, model.Answer):
        return replies.chat(decision.text)
    return router.route(decision.name, decision.arguments, state, today)


def migrate(state: dict[str, Any], from_version: str, to_version: str) -> dict[str, Any]:
    """Bring a session's state to STATE_SCHEMA whatever code version wrote it.

    The versions are code versions (git commits); what matters is the state's own
    ``schema``: schema 1 kept the loyalty number under ``member``.
    """
    upgraded = dict(state)
    if int(upgraded.get("schema", 1)) < 2 and "member" in upgraded:
        upgraded[session.LOYALTY] = upgraded.pop("member")
    upgraded["schema"] = STATE_SCHEMA
    return upgraded


def last_task_id() -> str | None:
    """The evidence task id of the last ``handle`` call made in this context (thread)."""
    return _last_task.get()
