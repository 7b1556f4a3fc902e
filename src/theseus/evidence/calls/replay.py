"""Replaying a task's outbound calls: the evidence answers, the network is never asked.

``with replay_calls(case.calls) as session:`` around the replayed function. Every call it
makes through httpx, httpx2 (the model SDKs) or requests, and every ``@tool`` call, is
matched against the recording by order and fingerprint (:mod:`.fingerprint`): the n-th call
gets the n-th recorded call when their fingerprints agree; otherwise the earliest recorded
call not yet used with the same fingerprint (so an extra call inserted before a recorded
one, or recorded calls made in another order, still replay, and identical calls get their
answers in the order they were recorded); otherwise the call is unrecorded.

An unrecorded call (and a recorded one that cannot be served: truncated at the recording
cap, a tool result JSON could not hold) is listed in ``session.unrecorded`` and, under
``unrecorded="fail"``, raises :class:`~.failures.UnrecordedCall` in the agent's code. Under
``"forward"`` an HTTP call goes to the host's :class:`~.forward.CallForwarder` through a
:class:`~.forward.ForwardClient` instead (its answer is listed in ``session.forwarded``);
what that refuses or cannot reach, and every unrecorded tool call, is unrecorded all the
same. Nothing goes out any other way: the session is installed in this context and, for
threads that did not inherit it, process-wide until the block ends.

Why not vcrpy here either (it does support httpx, httpx2 and requests): its cassettes match
each library's requests on their own, by the first unplayed match, where replay needs one
order across HTTP and tool calls and the recorded form the evidence already has; it answers
a miss with an exception of its own or by going to the real network, where replay must list
the miss and may send it only through the forwarder's socket; and entering a cassette
patches every library it knows (about 2.3 ms each time, measured), once per replayed case.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from pydantic import ValidationError

from theseus._jsonvalue import has_marker, to_json_safe
from theseus.errors import EvidenceError
from theseus.evidence.calls.captures import bound_arguments
from theseus.evidence.calls.failures import UnrecordedCall, rebuild_error
from theseus.evidence.calls.fingerprint import tool_fingerprint
from theseus.evidence.calls.forward import ForwardClient
from theseus.evidence.calls.forward_protocol import ForwardFailed
from theseus.evidence.calls.patch import ensure_patched
from theseus.evidence.calls.scope import Scope, ToolSpec, pop_process, push_process, scope_var
from theseus.evidence.calls.wire import TRUNCATED, HttpRequest, Served, describe, served_from
from theseus.evidence.records import RecordedCall

__all__ = ["ReplaySession", "replay_calls"]

Policy = Literal["fail", "forward"]


class ReplaySession(Scope):
    """What one replay served: ``used``/``unused`` recorded calls, ``unrecorded`` (each
    ``{"seq", "kind", "target", "fingerprint", "request", "reason"}``), ``forwarded``."""

    replaying = True

    def __init__(
        self, calls: list[RecordedCall], policy: Policy, forward: ForwardClient | None
    ) -> None:
        self.calls = sorted(calls, key=lambda c: c.seq)
        self.policy = policy
        self.forward = forward
        self.unrecorded: list[dict[str, Any]] = []
        self.forwarded: list[dict[str, Any]] = []
        self.matched: list[tuple[int, int]] = []  # (call number, recorded seq)
        self._used = [False] * len(self.calls)
        self._next = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        """How many recorded calls were matched."""
        return sum(self._used)

    @property
    def unused(self) -> int:
        """How many recorded calls the replayed code never made."""
        return len(self._used) - sum(self._used)

    def _match(self, fingerprint: str) -> tuple[int, RecordedCall | None]:
        with self._lock:
            number, self._next = self._next, self._next + 1
            calls, used = self.calls, self._used
            for index in itertools.chain([number], range(len(calls))):
                if (
                    index < len(calls)
                    and not used[index]
                    and calls[index].fingerprint == fingerprint
                ):
                    used[index] = True
                    self.matched.append((number, calls[index].seq))
                    return number, calls[index]
            return number, None

    def serve_http(self, request: HttpRequest) -> Served:
        described = describe(request)
        number, found = self._match(described.fingerprint)
        reason = "not_recorded"
        if found is not None:
            served = served_from(found.response, found.error)
            if served is not None:
                return served
            body = found.response.get("body") if isinstance(found.response, dict) else None
            reason = "truncated" if isinstance(body, dict) and TRUNCATED in body else "incomplete"
        entry = {
            "seq": number,
            "kind": described.kind,
            "target": described.target,
            "fingerprint": described.fingerprint,
            "request": described.request,
            "reason": reason,
        }
        detail = None
        if self.policy == "forward" and self.forward is not None:
            try:
                served, record = self.forward.send(request)
            except ForwardFailed as exc:
                entry["reason"], detail = exc.reason, str(exc)
            else:
                with self._lock:
                    self.forwarded.append({**record, "seq": number})
                return served
        with self._lock:
            self.unrecorded.append(entry)
        raise UnrecordedCall(entry, detail)

    def call_tool(self, tool: ToolSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        fingerprint = tool_fingerprint(tool.name, bound_arguments(tool, args, kwargs))
        number, found = self._match(fingerprint)
        reason = "tool" if self.policy == "forward" else "not_recorded"
        if found is not None:
            if found.error is not None:
                raise rebuild_error(found.error)
            result = found.response
            if isinstance(result, dict) and TRUNCATED in result:
                reason = "truncated"
            elif has_marker(result):
                reason = "unserializable"
            else:
                return copy.deepcopy(result)  # the agent may mutate it; the case must not change
        entry = {
            "seq": number,
            "kind": "tool",
            "target": tool.name,
            "fingerprint": fingerprint,
            "request": to_json_safe({"args": list(args), "kwargs": kwargs}),
            "reason": reason,
        }
        with self._lock:
            self.unrecorded.append(entry)
        raise UnrecordedCall(entry)

    async def call_tool_async(
        self, tool: ToolSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        return self.call_tool(tool, args, kwargs)  # the body is never awaited: never run


@contextlib.contextmanager
def replay_calls(
    case_calls: Iterable[dict[str, Any] | RecordedCall],
    unrecorded: Policy = "fail",
    forward: ForwardClient | None = None,
) -> Iterator[ReplaySession]:
    """Serve ``case_calls`` (a replay case's ``calls``, as dicts or models) to every call
    made inside the block; see the module docstring for matching and the two policies."""
    if unrecorded not in ("fail", "forward"):
        raise EvidenceError(
            f"replay_calls: unrecorded={unrecorded!r} is not a policy",
            hint="use 'fail' or 'forward'",
        )
    if unrecorded == "forward" and forward is None:
        raise EvidenceError(
            "replay_calls: unrecorded='forward' needs forward=ForwardClient(socket_path)",
            hint="pass the client of the host's CallForwarder, or use unrecorded='fail'",
        )
    session = ReplaySession(_parse(case_calls), unrecorded, forward)
    ensure_patched()
    token = scope_var.set(session)
    push_process(session)
    try:
        yield session
    finally:
        pop_process(session)
        with contextlib.suppress(ValueError):  # left in another context: nothing to restore
            scope_var.reset(token)


def _parse(case_calls: Iterable[dict[str, Any] | RecordedCall]) -> list[RecordedCall]:
    calls = []
    for index, item in enumerate(case_calls):
        if isinstance(item, RecordedCall):
            calls.append(item)
            continue
        try:
            calls.append(RecordedCall.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise EvidenceError(
                f"replay_calls: recorded call {index} is not a RecordedCall"
                f" ({where}: {first.get('msg')})",
                hint="pass a replay case's calls as stored",
            ) from None
    return calls
