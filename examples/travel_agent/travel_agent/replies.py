"""Every reply the agent can give, built in one place (protected: candidates never edit it).

A reply is a JSON object ``{"intent": str, "text": str, "data": {...}}``. ``text`` is what the
traveller reads; ``data`` holds the facts behind it (ids, ISO dates, amounts in cents of
``currency``) so that a client, a test or an oracle can check the answer without parsing
prose. Keeping the wording here means the harness can only get a *fact* wrong, which is
what the checks look at. The one exception is ``chat``: its text is the model's own words.
"""

from __future__ import annotations

from datetime import date
from typing import Any

Reply = dict[str, Any]
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def reply(intent: str, text: str, **data: Any) -> Reply:
    return {"intent": intent, "text": text, "data": data}


def money(cents: int, currency: str = "EUR") -> str:
    return f"{SYMBOLS.get(currency, currency + ' ')}{cents // 100:,}.{cents % 100:02d}"


def chat(text: str) -> Reply:
    """The model answered in words instead of calling a tool (a greeting, a question back)."""
    return reply("chat", text)


def bad_request() -> Reply:
    return reply("bad_request", 'A message is {"text": "...", "date": "YYYY-MM-DD"} or a string.')


def clarify(tool: str, missing: list[str]) -> Reply:
    """The model called ``tool`` without arguments the harness needs (or with unusable ones)."""
    return reply(
        "clarify",
        f"I need a little more to go on: {', '.join(missing)}.",
        tool=tool,
        missing=missing,
    )


def unknown_tool(name: str) -> Reply:
    return reply("unknown_tool", "Sorry, I cannot do that yet.", tool=name)


def flight_options(
    origin: str,
    destination: str,
    day: date,
    passengers: int,
    currency: str,
    flights: list[tuple[str, str]],
    total: int,
) -> Reply:
    """``flights``: (flight number, departure time), cheapest first; ``total`` is the
    cheapest one's fare for every passenger, in cents of ``currency``."""
    listed = ", ".join(f"{number} at {departs}" for number, departs in flights)
    return reply(
        "flight_options",
        f"Flights {origin}-{destination} on {day.isoformat()}: {listed}. The cheapest, "
        f"{flights[0][0]}, is {money(total, currency)} for {passengers} passenger(s).",
        origin=origin,
        destination=destination,
        date=day.isoformat(),
        passengers=passengers,
        flights=[number for number, _ in flights],
        cheapest=flights[0][0],
        total=total,
        currency=currency,
    )


def no_flights(origin: str, destination: str, day: date, passengers: int) -> Reply:
    return reply(
        "no_flights",
        f"I found no flight {origin}-{destination} on {day.isoformat()} with {passengers} "
        "seat(s) left. Another day, perhaps?",
        origin=origin,
        destination=destination,
        date=day.isoformat(),
        passengers=passengers,
    )


def unsupported_currency(currency: str, supported: list[str]) -> Reply:
    return reply(
        "unsupported_currency",
        f"I can show prices in {', '.join(supported)}, not {currency}.",
        currency=currency,
    )


def hotel_quote(
    hotel: str,
    name: str,
    city: str,
    check_in: date,
    nights: int,
    guests: int,
    discount_percent: int,
    total: int,
    traveller: str | None,
) -> Reply:
    who = f" for {traveller}" if traveller else ""
    discount = f", with your {discount_percent}% member discount" if discount_percent else ""
    return reply(
        "hotel_quote",
        f"{name} ({city}){who}: {nights} night(s) from {check_in.isoformat()} for {guests} "
        f"guest(s), {money(total)} in total{discount}.",
        hotel=hotel,
        city=city,
        check_in=check_in.isoformat(),
        nights=nights,
        guests=guests,
        discount_percent=discount_percent,
        total=total,
        currency="EUR",
    )


def no_hotel(city: str, guests: int) -> Reply:
    return reply(
        "no_hotel",
        f"I have no hotel in {city} with a room for {guests} guest(s).",
        city=city,
        guests=guests,
    )


def booking_not_found(ref: str) -> Reply:
    return reply(
        "booking_not_found", f"I could not find booking {ref}. Please check the reference.", ref=ref
    )


def booking_status(ref: str, kind: str, starts: date, status: str) -> Reply:
    return reply(
        "booking_status",
        f"Booking {ref} ({kind}, {starts.isoformat()}) is {status}.",
        ref=ref,
        kind=kind,
        starts=starts.isoformat(),
        status=status,
    )


def booking_cancelled(ref: str, refund: int, refund_percent: int) -> Reply:
    return reply(
        "booking_cancelled",
        f"Booking {ref} is cancelled. You get {refund_percent}% back: {money(refund)}.",
        ref=ref,
        refund=refund,
        refund_percent=refund_percent,
    )


def cannot_cancel(ref: str, status: str) -> Reply:
    return reply(
        "cannot_cancel", f"Booking {ref} is {status}, so it cannot be cancelled.", ref=ref,
        status=status,
    )  # fmt: skip


def loyalty_balance(loyalty_id: str, name: str, tier: str, points: int) -> Reply:
    return reply(
        "loyalty_balance",
        f"{name}, your {tier} membership {loyalty_id} has {points:,} points.",
        loyalty_id=loyalty_id,
        tier=tier,
        points=points,
    )


def unknown_member(loyalty_id: str) -> Reply:
    return reply(
        "unknown_member", f"I could not find loyalty member {loyalty_id}.", loyalty_id=loyalty_id
    )


def need_loyalty_id() -> Reply:
    return reply("need_loyalty_id", "What is your loyalty number? It looks like TL-1234.")
