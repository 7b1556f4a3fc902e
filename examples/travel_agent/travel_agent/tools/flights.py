"""Flight search: the fares of one route on one day, cheapest first, in the asked currency."""

from __future__ import annotations

from datetime import date

from travel_agent import replies
from travel_agent.tools.data import Row, rows

# Cents of each currency per 100 EUR cents (fixed demo rates: the data is priced in EUR).
RATES = {"EUR": 100, "USD": 108, "GBP": 85}
MAX_LISTED = 3


def fare_in(cents: int, currency: str) -> int:
    """An amount of EUR cents in cents of ``currency``, rounded half up."""
    return (cents * RATES[currency] + 50) // 100


def has_seats(flight: Row, passengers: int) -> bool:
    """Whether all ``passengers`` can still book ``flight``."""
    return int(flight["seats"]) > passengers


def search(
    origin: str, destination: str, day: date, passengers: int, currency: str
) -> replies.Reply:
    """The cheapest flights ``origin`` -> ``destination`` on ``day`` with room for everyone;
    the total is the cheapest fare times the passengers."""
    if currency not in RATES:
        return replies.unsupported_currency(currency, sorted(RATES))
    found = [
        flight
        for flight in rows("flights")
        if flight["origin"] == origin
        and flight["destination"] == destination
        and flight["date"] == day.isoformat()
        and has_seats(flight, passengers)
    ]
    if not found:
        return replies.no_flights(origin, destination, day, passengers)
    found.sort(key=lambda flight: (flight["price"], flight["departs"], flight["flight"]))
    listed = found[:MAX_LISTED]
    total = fare_in(listed[0]["price"] * passengers, currency)
    options = [(flight["flight"], flight["departs"]) for flight in listed]
    return replies.flight_options(origin, destination, day, passengers, currency, options, total)
