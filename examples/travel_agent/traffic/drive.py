"""Send scripted conversations to the agent, judge each reply, report what was wrong.

Sending is behind ``Sender`` (session id, message) -> ``Result``, so the same judging runs
against ``handle`` in this process (``in_process_sender``) or against the agent served by
``theseus serve`` (``http_sender``). Over HTTP a request can also fail without the agent
failing: the connection is refused or reset, the worker crashed or timed out, no version
serves. Such a request is ``dropped``: counted apart, never judged, never reported, since the
agent's answer is not known. An exception the agent raised is an error, as in-process.

A reply is judged on the facts the oracle states (``intent`` and some ``data`` fields), as a
partial match: the free text, the model's own words included, is never compared. A wrong
answer is named by its first wrong fact, in the oracle's order (``wrong_discount``,
``wrong_nights``), else by what was asked (``wrong_cancel``), and reported with the facts
that were due as ``{"$theseus": "partial", "value": ...}``, the JSON form of
``theseus.partial(...)``, which replay checks the same way.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from traffic.flow import Pacer, fan_out
from traffic.generate import Script, generate
from traffic.oracle import Belief, Expected, advance, expected
from traffic.world import World, load

if TYPE_CHECKING:
    import httpx

# How much a wrong answer of each kind hurts the traveller (money first).
SEVERITY = {
    "wrong_discount": "high",
    "wrong_nights": "high",
    "wrong_hotel": "high",
    "wrong_cancel": "high",
    "wrong_flights": "medium",
    "wrong_status": "medium",
    "wrong_loyalty": "low",
    "wrong_chat": "low",
}
# A wrong fact that names the wrong answer by itself (else: wrong_<what was asked>).
KIND_OF_FIELD = {"data.discount_percent": "wrong_discount", "data.nights": "wrong_nights"}
PARTIAL = "$theseus"


@dataclass(frozen=True)
class Result:
    """What one message got: a reply, or an error line; the evidence task id if known; the
    version that answered; ``dropped`` when the service, not the agent, failed to answer."""

    reply: Any = None
    error: str | None = None
    task_id: str | None = None
    dropped: bool = False
    version: str | None = None


Sender = Callable[[str, dict[str, Any]], Result]
Reporter = Callable[..., object]


@dataclass
class Outcome:
    sessions: int = 0
    requests: int = 0
    exceptions: int = 0
    wrong_answers: int = 0
    checked: int = 0
    dropped: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = dict(sorted(self.failures.items()))
        data["versions"] = dict(sorted(self.versions.items()))
        return data

    def add(self, other: Outcome) -> None:
        """Add ``other``'s counts to these (one session's outcome into the run's)."""
        for name in ("sessions", "requests", "exceptions", "wrong_answers", "checked", "dropped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures.update(other.failures)
        self.versions.update(other.versions)


def partial(facts: Expected) -> dict[str, Any]:
    """``facts`` as a partial-match expected value (what ``theseus.partial`` builds)."""
    return {PARTIAL: "partial", "value": facts}


def wrong_fact(want: Any, got: Any, where: str = "") -> str | None:
    """Where ``got`` first differs from the facts ``want`` (a dotted path, "" for the whole
    reply), or None when it holds them all. Objects match partially at every depth; lists
    and values exactly (``true`` is not ``1``), as replay's partial matcher does."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return where
        for key, item in want.items():
            place = f"{where}.{key}" if where else str(key)
            if key not in got:
                return place
            problem = wrong_fact(item, got[key], place)
            if problem is not None:
                return problem
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return where
        for index, (item, have) in enumerate(zip(want, got, strict=True)):
            problem = wrong_fact(item, have, f"{where}[{index}]")
            if problem is not None:
                return problem
        return None
    if isinstance(want, bool) or isinstance(got, bool):
        return None if type(want) is type(got) and want == got else where
    numbers = isinstance(want, int | float) and isinstance(got, int | float)
    return None if (type(want) is type(got) or numbers) and want == got else where


def drive(
    scripts: Iterable[Script],
    send: Sender,
    report: Reporter | None = None,
    on_session: Callable[[int], None] | None = None,
    *,
    concurrency: int = 1,
    rate: float | None = None,
    stop: threading.Event | None = None,
) -> Outcome:
    """Play every script through ``send``; wrong answers (and errors, with the facts that
    were due) go to ``report(task_id, kind=..., expected=..., severity=..., note=...)``.

    ``concurrency`` sessions run at a time (threads; ``send`` and ``report`` must be thread
    safe then), ``rate`` caps the messages per second across all of them, and setting
    ``stop`` ends the run after the messages in flight (``sessions`` counts finished ones).
    """
    world = load()
    stop = stop if stop is not None else threading.Event()
    pacer = Pacer(rate, stop)
    outcome = Outcome()
    lock = threading.Lock()
    started = time.monotonic()

    def play(script: Script) -> None:
        local = _play(world, script, send, report, pacer)
        with lock:
            outcome.add(local)
            outcome.elapsed_s = time.monotonic() - started
            if on_session is not None and local.sessions:
                on_session(outcome.sessions)

    fan_out(scripts, play, concurrency, stop)
    outcome.elapsed_s = time.monotonic() - started
    return outcome


def _play(
    world: World, script: Script, send: Sender, report: Reporter | None, pacer: Pacer
) -> Outcome:
    """One session, message by message; ``sessions`` is 1 when it was played to the end."""
    outcome = Outcome()
    belief = Belief()
    for turn in script.turns:
        if not pacer.wait():
            return outcome
        want = expected(world, turn, belief)
        result = send(script.session_id, turn.message)
        outcome.requests += 1
        if result.version is not None:
            outcome.versions[result.version] += 1
        if result.dropped:
            outcome.dropped += 1
            outcome.failures[f"dropped:{(result.error or '?').partition(':')[0]}"] += 1
            advance(turn, belief, want, False)  # whether it ran is unknown
            continue
        outcome.checked += want is not None
        wrong = None if want is None else wrong_fact(want, _plain(result.reply))
        kind = KIND_OF_FIELD.get(wrong or "", f"wrong_{turn.intent}")
        ok = result.error is None and wrong is None
        if result.error is not None:
            outcome.exceptions += 1
            outcome.failures[f"error:{result.error.partition(':')[0]}"] += 1
            note = f"the agent raised {result.error}"
        elif not ok:
            outcome.wrong_answers += 1
            outcome.failures[kind] += 1
            note = f"{wrong or 'the reply'} is wrong; said {_text(result.reply)!r}"
        if not ok and report is not None and want is not None and result.task_id:
            severity = SEVERITY.get(kind, "medium")
            report(result.task_id, kind=kind, expected=partial(want), severity=severity, note=note)
        advance(turn, belief, want, ok)
    outcome.sessions = 1
    return outcome


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr))


def _text(reply: Any) -> str:
    return str(reply.get("text", reply))[:200] if isinstance(reply, dict) else repr(reply)[:200]


class InProcessSender:
    """Calls ``travel_agent.app.handle`` here, one state dict per session, each call recorded
    under its session id.

    The agent needs its model: this starts the stand-in (``model_server``) in a thread of
    this process - on port 8711 when free (so recorded model calls keep one URL from run to
    run), else on a free port - and points the agent's ``openai`` client at it by setting
    ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``. ``close()`` stops it.
    """

    def __init__(self) -> None:
        from model_server import DEFAULT_KEY, DEFAULT_PORT, base_url, serve

        try:
            self.server, self.thread = serve(DEFAULT_PORT, api_key=DEFAULT_KEY)
        except OSError:  # taken (another run, another service): any free port will do
            self.server, self.thread = serve(0, api_key=DEFAULT_KEY)
        os.environ["OPENAI_BASE_URL"] = base_url(self.server)
        os.environ["OPENAI_API_KEY"] = DEFAULT_KEY

        from travel_agent import model
        from travel_agent.app import handle, last_task_id

        from theseus.evidence.sdk import session

        model.use_client(None)  # built from the variables above at the first call
        self._handle, self._last_task_id, self._session = handle, last_task_id, session
        self.states: dict[str, dict[str, Any]] = {}

    def __call__(self, session_id: str, message: dict[str, Any]) -> Result:
        state = self.states.setdefault(session_id, {})
        with self._session(session_id):
            try:
                reply = self._handle(copy.deepcopy(message), state)
            except Exception as exc:
                return Result(None, f"{type(exc).__name__}: {exc}", self._last_task_id())
        return Result(reply, None, self._last_task_id())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def in_process_sender() -> InProcessSender:
    """A ``Sender`` calling the agent in this process, with the stand-in model started."""
    return InProcessSender()


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
    sender = in_process_sender()
    try:
        return drive(generate(sessions, seed), sender, reporter, on_session)
    finally:
        sender.close()


SESSION_HEADER = "X-Theseus-Session-Token"


class HttpSender:
    """Posts each message to ``POST {base_url}/sessions/{id}/messages`` over one keep-alive
    connection pool (thread safe: one client shared by every session thread).

    A session belongs to the client that started it: the first reply carries a
    ``session_token`` (also in an error's detail), sent back with the session's later
    messages as ``X-Theseus-Session-Token``."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 60.0,
        connections: int = 4,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        self._transport_errors = httpx.HTTPError
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, limits=limits, transport=transport
        )
        self.tokens: dict[str, str] = {}  # session id -> its token (one thread per session)

    def __call__(self, session_id: str, message: dict[str, Any]) -> Result:
        token = self.tokens.get(session_id)
        headers = {SESSION_HEADER: token} if token else {}
        try:
            response = self.client.post(
                f"/sessions/{session_id}/messages", json={"message": message}, headers=headers
            )
        except self._transport_errors as exc:  # refused, reset, timed out: never answered
            return Result(None, f"{type(exc).__name__}: {exc}", dropped=True)
        body = _json(response)
        issued = _session_token(body)
        if issued:
            self.tokens[session_id] = issued
        return classify(response.status_code, body)

    def close(self) -> None:
        self.client.close()


def http_sender(
    base_url: str,
    *,
    timeout: float = 60.0,
    connections: int = 4,
    transport: httpx.BaseTransport | None = None,
) -> HttpSender:
    """A ``Sender`` to the agent served at ``base_url`` (``theseus serve``): ``connections``
    kept-alive connections, ``timeout`` seconds per request; ``transport`` is for tests."""
    return HttpSender(base_url, timeout=timeout, connections=connections, transport=transport)


def classify(status: int, body: Any) -> Result:
    """The ``Result`` of one HTTP answer of the service (see theseus.runtime.failures).

    200 is the agent's reply; ``agent_error`` (the agent raised) is an error like in-process,
    against the task id in its detail; every other failure (worker crashed, timeout, nothing
    serving, a refused request) is the service's, so the request is dropped.
    """
    if status == 200 and isinstance(body, dict) and "reply" in body:
        return Result(
            body["reply"], None, _str(body.get("task_id")), version=_str(body.get("version"))
        )
    error = _dict(body.get("error") if isinstance(body, dict) else None)
    detail = _dict(error.get("detail"))
    task_id = _str(detail.get("task_id"))
    if error.get("type") == "agent_error":
        name = str(detail.get("error_type") or "Exception").rsplit(".", 1)[-1]
        text = f"{name}: {detail.get('error_message', '')}"
        return Result(None, text, task_id, version=_str(detail.get("version")))
    kind = str(error.get("type") or f"http_{status}")
    text = f"{kind}: {error.get('message') or f'HTTP {status}'}"
    return Result(None, text, task_id, dropped=True)


def _session_token(body: Any) -> str | None:
    """The token a session's first answer carries (a reply, or an error's detail)."""
    if not isinstance(body, dict):
        return None
    detail = _dict(_dict(body.get("error")).get("detail"))
    return _str(body.get("session_token")) or _str(detail.get("session_token"))


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
