"""Send scripted sessions to the agent, judge each reply, report what was wrong.

Sending is behind ``Sender`` (session id, message) -> ``Result``, so the same judging runs
against ``handle`` in this process or, with another sender, against a served agent.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from traffic.generate import Script, generate
from traffic.oracle import Belief, advance, expected
from traffic.shop import load

# How much a wrong answer of each kind hurts the customer (money first).
SEVERITY = {
    "refund_quote": "high",
    "identify": "high",
    "convert": "medium",
    "return_window": "medium",
    "delivery_estimate": "medium",
    "list_orders": "low",
}


@dataclass(frozen=True)
class Result:
    """What one message got: a reply, or an error line; and the evidence task id if known."""

    reply: Any = None
    error: str | None = None
    task_id: str | None = None


Sender = Callable[[str, dict[str, Any]], Result]
Reporter = Callable[..., object]


@dataclass
class Outcome:
    sessions: int = 0
    requests: int = 0
    exceptions: int = 0
    wrong_answers: int = 0
    checked: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = dict(sorted(self.failures.items()))
        return data


def drive(
    scripts: Iterable[Script],
    send: Sender,
    report: Reporter | None = None,
    on_session: Callable[[int], None] | None = None,
) -> Outcome:
    """Play every script through ``send``; wrong answers (and errors, with the answer that was
    due) go to ``report(task_id, kind=..., expected=..., severity=..., note=...)``."""
    shop = load()
    outcome = Outcome()
    for script in scripts:
        belief = Belief()
        for turn in script.turns:
            want = expected(shop, turn, belief)
            result = send(script.session_id, turn.message)
            outcome.requests += 1
            outcome.checked += want is not None
            kind = f"wrong_{turn.intent}"
            ok = result.error is None and (want is None or _plain(result.reply) == want)
            if result.error is not None:
                outcome.exceptions += 1
                outcome.failures[f"error:{result.error.partition(':')[0]}"] += 1
                note = f"the agent raised {result.error}"
            elif not ok:
                outcome.wrong_answers += 1
                outcome.failures[kind] += 1
                note = f"said {_text(result.reply)!r}"
            if not ok and report is not None and want is not None and result.task_id:
                severity = SEVERITY.get(turn.intent, "medium")
                report(result.task_id, kind=kind, expected=want, severity=severity, note=note)
            advance(shop, turn, belief, want, ok)
        outcome.sessions += 1
        if on_session is not None:
            on_session(outcome.sessions)
    return outcome


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr))


def _text(reply: Any) -> str:
    return str(reply.get("text", reply))[:200] if isinstance(reply, dict) else repr(reply)[:200]


def in_process_sender() -> Sender:
    """Call ``support_agent.app.handle`` here, one state dict per session, each call recorded
    under its session id."""
    from support_agent.app import handle, last_task_id

    from theseus.evidence.sdk import session

    states: dict[str, dict[str, Any]] = {}

    def send(session_id: str, message: dict[str, Any]) -> Result:
        state = states.setdefault(session_id, {})
        with session(session_id):
            try:
                reply = handle(copy.deepcopy(message), state)
            except Exception as exc:
                return Result(None, f"{type(exc).__name__}: {exc}", last_task_id())
        return Result(reply, None, last_task_id())

    return send


def drive_in_process(
    sessions: int,
    seed: int = 7,
    *,
    report: bool = True,
    on_session: Callable[[int], None] | None = None,
) -> Outcome:
    """Generate ``sessions`` scripts and play them against ``handle`` in this process."""
    import theseus

    reporter = theseus.report_failure if report else None
    return drive(generate(sessions, seed), in_process_sender(), reporter, on_session)
