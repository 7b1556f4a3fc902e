"""Each tool on its own, over the bundled data: flights, hotels, bookings, loyalty."""

from __future__ import annotations

from datetime import date

from travel_agent.tools import bookings, flights, hotels, loyalty


def test_cheapest_flights_first_for_every_passenger() -> None:
    reply = flights.search("LIS", "MAD", date(2024, 7, 3), 2, "EUR")
    assert reply["intent"] == "flight_options"
    assert reply["data"]["flights"] == ["TA216", "TA205", "TA209"]
    assert reply["data"]["cheapest"] == "TA216"
    assert reply["data"]["total"] == 15000


def test_fares_in_other_currencies() -> None:
    reply = flights.search("LIS", "MAD", date(2024, 7, 3), 2, "USD")
    assert (reply["data"]["total"], reply["data"]["currency"]) == (16200, "USD")
    assert flights.fare_in(10000, "GBP") == 8500
    assert flights.search("LIS", "MAD", date(2024, 7, 3), 1, "CHF")["intent"] == (
        "unsupported_currency"
    )


def test_a_flight_with_too_few_seats_is_left_out() -> None:
    reply = flights.search("LIS", "MAD", date(2024, 7, 10), 3, "EUR")
    assert "TA209" not in reply["data"]["flights"]  # 2 seats left


def test_no_flights_on_an_unserved_route() -> None:
    assert flights.search("LIS", "BER", date(2024, 7, 3), 1, "EUR")["intent"] == "no_flights"


def test_hotel_quote_picks_the_cheapest_room_that_fits() -> None:
    reply = hotels.quote("MAD", date(2024, 7, 3), 3, 1, 0)
    assert reply["data"]["hotel"] == "MAD-3"
    assert reply["data"]["total"] == 19200
    bigger = hotels.quote("MAD", date(2024, 7, 3), 3, 3, 0)
    assert (bigger["data"]["hotel"], bigger["data"]["total"]) == ("MAD-3", 26700)


def test_member_discount_comes_off_the_whole_stay() -> None:
    reply = hotels.quote("MAD", date(2024, 7, 3), 3, 3, 10)
    assert (reply["data"]["discount_percent"], reply["data"]["total"]) == (10, 24030)


def test_discounts_by_tier() -> None:
    assert loyalty.discount_percent("TL-1001") == 10  # gold
    assert loyalty.discount_percent("TL-1003") == 15  # platinum
    assert loyalty.discount_percent(None) == 0


def test_loyalty_balance_of_members_and_strangers() -> None:
    assert loyalty.balance("TL-1002")["data"] == {
        "loyalty_id": "TL-1002",
        "tier": "silver",
        "points": 71423,
    }
    assert loyalty.balance("TL-4242")["intent"] == "unknown_member"


def test_booking_status() -> None:
    assert bookings.status("BK2004", date(2024, 6, 28), [])["data"]["status"] == "confirmed"
    assert bookings.status("BK2024", date(2024, 6, 28), [])["data"]["status"] == "completed"
    assert bookings.status("BK2004", date(2024, 6, 28), ["BK2004"])["data"]["status"] == (
        "cancelled"
    )
    assert bookings.status("BK9999", date(2024, 6, 28), [])["intent"] == "booking_not_found"


def test_cancellation_refunds_by_notice() -> None:
    early = bookings.cancel("BK2004", date(2024, 6, 20), [])
    assert early["data"] == {"ref": "BK2004", "refund": 70600, "refund_percent": 100}
    late = bookings.cancel("BK2004", date(2024, 7, 1), [])
    assert late["data"]["refund_percent"] == 50
    assert bookings.cancel("BK2006", date(2024, 6, 20), [])["intent"] == "cannot_cancel"
