"""The session's memory, key by key."""

from __future__ import annotations

from datetime import date
from typing import Any

from travel_agent import session


def test_a_given_loyalty_number_is_used_and_remembered() -> None:
    state: dict[str, Any] = {}
    assert session.loyalty_id(state, "TL-1001") == "TL-1001"
    assert state[session.LOYALTY] == "TL-1001"


def test_no_loyalty_number_before_one_is_given() -> None:
    assert session.loyalty_id({}, None) is None


def test_traveller_name() -> None:
    state: dict[str, Any] = {}
    assert session.traveller_name(state) is None
    session.remember_member(state, "Ana Silva", "gold")
    assert session.traveller_name(state) == "Ana Silva"


def test_last_flight_round_trip_and_garbage() -> None:
    state: dict[str, Any] = {}
    session.remember_flight(state, "MAD", date(2024, 7, 3))
    assert session.last_flight(state) == ("MAD", date(2024, 7, 3))
    assert session.last_flight({session.LAST_FLIGHT: {"destination": "MAD"}}) is None


def test_cancelled_refs_accumulate() -> None:
    state: dict[str, Any] = {}
    session.remember_cancelled(state, "BK2001")
    session.remember_cancelled(state, "BK2002")
    assert session.cancelled(state) == ["BK2001", "BK2002"]
