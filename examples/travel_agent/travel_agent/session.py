"""What a conversation remembers between messages, and under which keys.

The model sees only the current message (see model.py: the request never carries the
session), so whatever the conversation established earlier lives here, in the session's
state dict that the runtime keeps between calls. Reading and writing it in this one module
keeps the keys in one place:

    TRAVELLER    {"name": str, "tier": str} of the loyalty member who identified themself
    LOYALTY      the loyalty number given last ("TL-1234"), whether the programme knows it
    LAST_FLIGHT  {"destination": code, "date": ISO date} of the last flight searched, so
                 "a hotel there for 3 nights" needs no city or date
    CANCELLED    booking refs cancelled in this session
"""

from __future__ import annotations

from datetime import date
from typing import Any

State = dict[str, Any]

TRAVELLER = "traveller"
LOYALTY = "loyalty_id"
LAST_FLIGHT = "last_flight"
CANCELLED = "cancelled"


def loyalty_id(state: State, given: str | None) -> str | None:
    """The loyalty number to price this turn with: the one this message gave (remembered
    for later turns), else the one remembered from an earlier turn, else None."""
    if given:
        state[LOYALTY] = given
        return given
    remembered = state.get(TRAVELLER)
    return remembered if isinstance(remembered, str) else None


def remember_member(state: State, name: str, tier: str) -> None:
    state[TRAVELLER] = {"name": name, "tier": tier}


def traveller_name(state: State) -> str | None:
    traveller = state.get(TRAVELLER)
    name = traveller.get("name") if isinstance(traveller, dict) else None
    return name if isinstance(name, str) else None


def remember_flight(state: State, destination: str, day: date) -> None:
    state[LAST_FLIGHT] = {"destination": destination, "date": day.isoformat()}


def last_flight(state: State) -> tuple[str, date] | None:
    """(destination, date) of the last flight searched in this session, if any."""
    flight = state.get(LAST_FLIGHT)
    if not isinstance(flight, dict):
        return None
    try:
        return str(flight["destination"]), date.fromisoformat(str(flight["date"]))
    except (KeyError, ValueError):
        return None


def cancelled(state: State) -> list[str]:
    refs = state.get(CANCELLED)
    return [str(ref) for ref in refs] if isinstance(refs, list) else []


def remember_cancelled(state: State, ref: str) -> None:
    state[CANCELLED] = [*cancelled(state), ref]
