"""Entrypoint of the example support agent (protected: candidates never edit this file).

``handle(message, state) -> reply``
  message  the customer's message: a JSON object ``{"text": str, "date": "YYYY-MM-DD"}``
           (``date`` is the customer's local date, used for return windows; when missing the
           machine's date is used, which makes replies depend on the day) or a plain string,
           taken as ``{"text": message}``.
  state    the session's dict, mutated in place. Keys: ``schema`` (int, STATE_SCHEMA),
           ``turns`` (messages so far), ``customer`` (account id once identified), ``order``
           (the order being discussed: the last order number mentioned), ``last_amount``
           (cents of the last amount quoted, for "what is that in EUR?"), ``pending``
           (``{"action": "cancel", "order": id}`` while waiting for yes/no) and
           ``cancelled`` (order ids cancelled in this session).
  reply    ``{"intent": str, "text": str, "data": {...}}`` (see replies.py).

``migrate(state, from_version, to_version) -> state`` upgrades a session's state when the
runtime moves it to new code; ``last_task_id()`` gives the evidence id of this thread's last
call, so a client can report a wrong answer against it.
"""

from __future__ import annotations

import contextvars
from datetime import date
from typing import Any

import theseus
from support_agent import replies, router

STATE_SCHEMA = 2
_last_task: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "support_agent_last_task", default=None
)


@theseus.task
def handle(message: Any, state: dict[str, Any]) -> replies.Reply:
    """Answer one customer message of a session whose state is ``state``."""
    _last_task.set(theseus.current_task_id())
    if isinstance(message, str):
        message = {"text": message}
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        return replies.reply(
            "bad_request", 'A message is {"text": "...", "date": "YYYY-MM-DD"} or a string.'
        )
    try:
        today = date.fromisoformat(message["date"]) if "date" in message else date.today()
    except (TypeError, ValueError):
        return replies.reply("bad_request", "The message's date must be YYYY-MM-DD.")
    state.setdefault("schema", STATE_SCHEMA)
    state["turns"] = int(state.get("turns", 0)) + 1
    return router.route(message["text"], today, state)


def migrate(state: dict[str, Any], from_version: str, to_version: str) -> dict[str, Any]:
    """Bring a session's state to STATE_SCHEMA whatever code version wrote it.

    The versions are code versions (git commits); what matters is the state's own ``schema``:
    schema 1 kept the ids under ``customer_id`` / ``order_id``.
    """
    upgraded = dict(state)
    if int(upgraded.get("schema", 1)) < 2:
        for old, new in (("customer_id", "customer"), ("order_id", "order")):
            if old in upgraded:
                upgraded[new] = upgraded.pop(old)
    upgraded["schema"] = STATE_SCHEMA
    return upgraded


def last_task_id() -> str | None:
    """The evidence task id of the last ``handle`` call made in this context (thread)."""
    return _last_task.get()
