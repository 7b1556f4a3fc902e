"""The harness around the model: route its tool call, build the tool's arguments, run it.

The model (model.py) chose a tool and wrote its arguments as JSON. A language model's JSON
is read defensively: an optional argument may be missing or null, a number may come as a
string, a code in lower case. This module turns the arguments into the tool's typed inputs,
fills in what only the session knows (session.py), runs the tool locally over the bundled
data and returns the tool's reply. It never calls the model again: the reply is written from
the tool's result (replies.py), so the one recorded model call is all a replay needs.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from travel_agent import replies, session
from travel_agent.tools import bookings, flights, hotels, loyalty

Args = dict[str, Any]


def route(name: str, arguments: str, state: session.State, today: date) -> replies.Reply:
    """Run the tool call ``name(arguments)`` the model made, updating ``state`` in place."""
    try:
        args = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        args = None
    if not isinstance(args, dict):
        return replies.clarify(name, ["arguments as a JSON object"])
    return dispatch(name, args, state, today)


def dispatch(name: str, args: Args, state: session.State, today: date) -> replies.Reply:
    """The handler of each tool the model may call (model.TOOLS)."""
    if name == "search_flights":
        return _search_flights(args, state)
    if name == "quote_hotel":
        return _quote_hotel(args, state)
    if name == "booking_status":
        return _booking(args, state, today, cancel=False)
    if name == "cancel_booking":
        return _booking(args, state, today, cancel=False)
    if name == "loyalty_balance":
        return _loyalty_balance(args, state)
    return replies.unknown_tool(name)


# --- handlers -------------------------------------------------------------------------------


def _search_flights(args: Args, state: session.State) -> replies.Reply:
    origin, destination = _code(args, "origin"), _code(args, "destination")
    day, passengers = _day(args, "date"), _count(args, "passengers")
    if origin is None or destination is None or day is None or passengers is None:
        missing = _missing(origin=origin, destination=destination, date=day, passengers=passengers)
        return replies.clarify("search_flights", missing)
    currency = (_text(args, "currency") or "EUR").upper()
    session.remember_flight(state, destination, day)
    return flights.search(origin, destination, day, passengers, currency)


def _quote_hotel(args: Args, state: session.State) -> replies.Reply:
    member = session.loyalty_id(state, _loyalty_id(args))
    city, check_in = _code(args, "city"), _day(args, "check_in")
    last = session.last_flight(state)
    if last is not None:  # "a hotel there": where and when the last flight searched arrives
        city = city or last[0]
        check_in = check_in or last[1]
    nights = _nights(args, check_in) if check_in is not None else None
    guests = _count(args, "guests")
    if city is None or check_in is None or nights is None or guests is None:
        missing = _missing(city=city, check_in=check_in, nights=nights, guests=guests)
        return replies.clarify("quote_hotel", missing)
    percent = loyalty.discount_percent(member)
    return hotels.quote(city, check_in, nights, guests, percent, session.traveller_name(state))


def _booking(args: Args, state: session.State, today: date, *, cancel: bool) -> replies.Reply:
    """booking_status, or cancel_booking when ``cancel``: both act on one booking reference."""
    ref = _booking_ref(args)
    if ref is None:
        return replies.clarify("cancel_booking" if cancel else "booking_status", ["booking_ref"])
    done = session.cancelled(state)
    if not cancel:
        return bookings.status(ref, today, done)
    reply = bookings.cancel(ref, today, done)
    if reply["intent"] == "booking_cancelled":
        session.remember_cancelled(state, ref)
    return reply


def _loyalty_balance(args: Args, state: session.State) -> replies.Reply:
    member_id = session.loyalty_id(state, _loyalty_id(args))
    if member_id is None:
        return replies.need_loyalty_id()
    member = loyalty.find(member_id)
    if member is not None:
        session.remember_member(state, member["name"], member["tier"])
    return loyalty.balance(member_id)


# --- arguments: what the model wrote, as the tools need it -----------------------------------


def _text(args: Args, key: str) -> str | None:
    value = args.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _code(args: Args, key: str) -> str | None:
    """A three-letter city code, in upper case."""
    value = _text(args, key)
    return value.upper() if value is not None and len(value) == 3 and value.isalpha() else None


def _day(args: Args, key: str) -> date | None:
    value = _text(args, key)
    try:
        return date.fromisoformat(value) if value is not None else None
    except ValueError:
        return None


def _count(args: Args, key: str) -> int | None:
    """A head count: 1 when the model leaves it out, None when it is not a positive whole
    number (the model may write 2, 2.0 or "2")."""
    value = args.get(key)
    if value is None or value == "":
        return 1
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 1 and number == float(value) else None


def _nights(args: Args, check_in: date) -> int | None:
    """The nights of a stay: the model sends either ``nights`` or a ``check_out`` date."""
    if args.get("nights") is not None:
        return _count(args, "nights")
    check_out = _day(args, "check_out")
    if check_out is None or check_out <= check_in:
        return None
    return (check_out - check_in).days + 1


def _booking_ref(args: Args) -> str | None:
    """'BK2001' however the model spelt it ('bk-2001', 'BK 2001')."""
    value = _text(args, "booking_ref")
    return value.upper().replace("-", "").replace(" ", "") if value is not None else None


def _loyalty_id(args: Args) -> str | None:
    """'TL-1001' however the model spelt it ('tl1001', 'TL 1001')."""
    value = _text(args, "loyalty_id")
    if value is None:
        return None
    digits = value.upper().removeprefix("TL").strip(" -")
    return f"TL-{digits}"


def _missing(**values: object) -> list[str]:
    return [key for key, value in values.items() if value is None]
