"""The one place the agent talks to its language model (protected: candidates never edit it).

Each user message makes exactly ONE chat-completions call, through the official ``openai``
SDK, with function-calling tools. The model only *decides*: it calls one of the tools below
with JSON arguments, or answers in words. The harness (router.py) runs the tool locally and
writes the reply itself, with no second model call.

Why so strict: Theseus records every model call a ``@theseus.task`` makes and, to verify a
fix offline, replays the recorded responses in a sandbox without network. A recorded
response can only answer the *same* request again. So the request is built from nothing a
fix could change: a fixed system prompt, the tools, and the current user message's text -
never the session state (a state bug must not leak into the request) and never anything the
harness computed. Whatever a fix of the harness does, the failing inputs send the same
request, and the recording answers it.

Configuration (read when the first call is made):

- ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``: read by ``openai.OpenAI()`` itself. For the
  bundled stand-in model: ``http://127.0.0.1:8711/v1`` and ``demo-key`` (``python -m
  model_server``). Replay matches a recorded call by its URL too, so record and replay with
  the same ``OPENAI_BASE_URL``.
- ``TRAVEL_AGENT_MODEL``: the model name sent (default ``travel-demo-1``).

Tests inject a client with :func:`use_client` (anything with ``.chat.completions.create``
returning an ``openai`` ``ChatCompletion``), so they need neither a server nor a key.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

MODEL_ENV = "TRAVEL_AGENT_MODEL"
DEFAULT_MODEL = "travel-demo-1"
TIMEOUT_S = 30.0

SYSTEM_PROMPT = (
    "You are the assistant of a small travel agency. Use the tools to search flights, quote "
    "hotels, check or cancel bookings and look up loyalty points. Call exactly one tool when "
    "the message asks for one of these, with arguments taken from the message only: city "
    "and airport codes as three letters (LIS, OPO, MAD, BCN, PAR, ROM, AMS, BER), dates as "
    "YYYY-MM-DD, booking references as BK1234, loyalty numbers as TL-1234. Leave out any "
    "optional argument the message does not give. Otherwise answer briefly in words."
)


def _function(
    name: str, description: str, properties: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


_CODE = {"type": "string", "description": "three-letter city code, e.g. LIS"}
_DATE = {"type": "string", "description": "YYYY-MM-DD"}
_REF = {"type": "string", "description": "booking reference, e.g. BK2001"}
_LOYALTY = {"type": "string", "description": "loyalty number, e.g. TL-1001"}
TOOLS: list[dict[str, Any]] = [
    _function(
        "search_flights",
        "One-way flights of one day, cheapest first.",
        {
            "origin": _CODE,
            "destination": _CODE,
            "date": _DATE,
            "passengers": {"type": "integer", "description": "travellers (1 if not given)"},
            "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
        },
        ["origin", "destination", "date"],
    ),
    _function(
        "quote_hotel",
        "Price the cheapest fitting hotel room. Without city or check_in, the destination "
        "and date of the flight searched last are used. Give check_out or nights.",
        {
            "city": _CODE,
            "check_in": _DATE,
            "check_out": _DATE,
            "nights": {"type": "integer"},
            "guests": {"type": "integer", "description": "1 if not given"},
            "loyalty_id": _LOYALTY,
        },
        [],
    ),
    _function("booking_status", "The status of a booking.", {"booking_ref": _REF}, ["booking_ref"]),
    _function(
        "cancel_booking", "Cancel a booking and refund it.", {"booking_ref": _REF}, ["booking_ref"]
    ),
    _function(
        "loyalty_balance",
        "Points and tier of a loyalty member (the one given earlier if no number is given).",
        {"loyalty_id": _LOYALTY},
        [],
    ),
]


@dataclass(frozen=True)
class ToolCall:
    """The model called ``name``; ``arguments`` is the JSON text it wrote, unparsed."""

    name: str
    arguments: str


@dataclass(frozen=True)
class Answer:
    """The model answered in words."""

    text: str


Decision = ToolCall | Answer

_client: Any = None
_lock = threading.Lock()


def use_client(client: Any) -> None:
    """Use ``client`` for the model calls from now on; None: build one from the environment
    again at the next call (after ``OPENAI_BASE_URL`` changed, for instance)."""
    global _client
    with _lock:
        _client = client


def _current_client() -> Any:
    global _client
    with _lock:
        if _client is None:
            import openai

            _client = openai.OpenAI(timeout=TIMEOUT_S, max_retries=1)
        return _client


def request(text: str) -> dict[str, Any]:
    """The whole request for one user message: fixed prompt and tools, plus ``text``."""
    return {
        "model": os.environ.get(MODEL_ENV, DEFAULT_MODEL),
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": text},
        ],
        "tools": TOOLS,
        "tool_choice": "auto",
        "temperature": 0,
    }


def decide(text: str) -> Decision:
    """Ask the model what to do about the user message ``text`` (one call; errors of the
    API, such as a refused key or an unreachable server, propagate)."""
    completion = _current_client().chat.completions.create(**request(text))
    message = completion.choices[0].message
    for call in message.tool_calls or []:
        function = getattr(call, "function", None)
        if function is not None:
            return ToolCall(str(function.name), function.arguments or "{}")
    return Answer(message.content or "")
