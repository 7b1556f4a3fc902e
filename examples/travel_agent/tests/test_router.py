"""The harness on its own: the model's tool call and JSON arguments in, the reply out."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from travel_agent import router, session

TODAY = date(2024, 6, 28)


def call(name: str, state: dict[str, Any] | None = None, **arguments: Any) -> dict[str, Any]:
    reply: dict[str, Any] = router.route(
        name, json.dumps(arguments), {} if state is None else state, TODAY
    )
    return reply


def test_flight_search_with_optional_arguments_left_out() -> None:
    reply = call("search_flights", origin="LIS", destination="MAD", date="2024-07-03")
    assert reply["data"]["passengers"] == 1
    assert reply["data"]["currency"] == "EUR"


def test_arguments_as_a_model_may_write_them() -> None:
    reply = call(
        "search_flights", origin="lis", destination="MAD", date="2024-07-03", passengers="2",
        currency="usd",
    )  # fmt: skip
    assert (reply["data"]["passengers"], reply["data"]["currency"]) == (2, "USD")
    assert call("booking_status", booking_ref="bk-2004")["data"]["ref"] == "BK2004"


def test_missing_or_unusable_arguments_ask_back() -> None:
    reply = call("search_flights", origin="LIS", destination="MAD", date="July 3rd")
    assert reply["data"] == {"tool": "search_flights", "missing": ["date"]}
    assert router.route("quote_hotel", "{not json", {}, TODAY)["intent"] == "clarify"
    assert call("quote_hotel", city="MAD")["data"]["missing"] == ["check_in", "nights"]


def test_hotel_for_a_number_of_nights() -> None:
    reply = call("quote_hotel", city="MAD", check_in="2024-07-03", nights=3)
    assert reply["data"]["nights"] == 3
    assert reply["data"]["total"] == 19200


def test_a_hotel_there_after_a_flight_search() -> None:
    state: dict[str, Any] = {}
    call("search_flights", state, origin="LIS", destination="PAR", date="2024-07-05")
    reply = call("quote_hotel", state, nights=2)
    assert (reply["data"]["city"], reply["data"]["check_in"]) == ("PAR", "2024-07-05")


def test_loyalty_number_given_with_the_quote() -> None:
    state: dict[str, Any] = {}
    reply = call("quote_hotel", state, city="MAD", check_in="2024-07-03", nights=3,
                 loyalty_id="tl1001")  # fmt: skip
    assert reply["data"]["discount_percent"] == 10
    assert state[session.LOYALTY] == "TL-1001"


def test_loyalty_balance_remembers_the_traveller() -> None:
    state: dict[str, Any] = {}
    reply = call("loyalty_balance", state, loyalty_id="TL-1005")
    assert reply["data"]["tier"] == "gold"
    assert state[session.TRAVELLER] == {"name": "Elena Rossi", "tier": "gold"}


def test_booking_status_through_the_router() -> None:
    assert call("booking_status", booking_ref="BK2004")["data"]["status"] == "confirmed"
    assert call("booking_status", booking_ref="BK1")["intent"] == "booking_not_found"


def test_unknown_tool() -> None:
    assert call("book_spaceship")["intent"] == "unknown_tool"
