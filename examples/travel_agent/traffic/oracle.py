"""The reference: the facts the right reply to a message holds, given what the session knows.

Written apart from the agent (its own data access, its own arithmetic, no import of the
agent's code) so that a bug in the harness is not copied into the judge. It states only the
facts it knows - the reply's ``intent`` and some ``data`` fields - never the wording, and
above all never the model's free text: a reply is right when it holds those facts, whatever
else it says. The drive reports them as a partial match, which replay checks the same way.

``Belief`` is what the traveller's side knows of the session's state. After a reply that was
wrong or an error, what that call could have changed becomes unknown, and messages that
depend on it are not checked: the oracle never blames a reply on a state it cannot know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from traffic.generate import Turn
from traffic.world import World

UNKNOWN: Any = object()
PER_100_EUR = {"EUR": 100, "USD": 108, "GBP": 85}
LISTED = 3
Expected = dict[str, Any]  # {"intent": ..., "data": {...}}: the facts the reply must hold


@dataclass
class Belief:
    """What the session state is known to hold (``UNKNOWN`` once a failure may have changed it)."""

    loyalty_id: Any = None  # the loyalty number given last
    last_flight: Any = None  # (destination, date) of the last flight search
    cancelled: Any = field(default_factory=list)  # refs cancelled in this session

    def forget(self, turn: Turn) -> None:
        """A call failed or answered wrongly: what it could have changed is now unknown."""
        if turn.intent == "loyalty" or turn.facts.get("loyalty_id"):
            self.loyalty_id = UNKNOWN
        if turn.intent == "flights":
            self.last_flight = UNKNOWN
        if turn.intent == "cancel":
            self.cancelled = UNKNOWN


def _facts(intent: str, **data: Any) -> Expected:
    return {"intent": intent, "data": data}


def _flights(world: World, facts: dict[str, Any]) -> Expected:
    day, passengers = date.fromisoformat(facts["date"]), facts["passengers"]
    route = (facts["origin"], facts["destination"])
    found = sorted(
        (f for f in world.flights
         if (f.origin, f.destination) == route and f.day == day and f.seats >= passengers),
        key=lambda f: (f.price, f.departs, f.number),
    )  # fmt: skip
    where = {"origin": route[0], "destination": route[1], "date": facts["date"]}
    if not found:
        return _facts("no_flights", **where, passengers=passengers)
    fare = found[0].price * passengers * PER_100_EUR[facts["currency"]]
    return _facts(
        "flight_options",
        **where,
        passengers=passengers,
        flights=[f.number for f in found[:LISTED]],
        cheapest=found[0].number,
        total=(fare + 50) // 100,
        currency=facts["currency"],
    )


def _hotel(world: World, facts: dict[str, Any], belief: Belief) -> Expected | None:
    city, check_in = facts["city"], facts["check_in"]
    if city is None or check_in is None:  # "a hotel there": from the last flight searched
        if belief.last_flight is UNKNOWN:
            return None
        if belief.last_flight is None:
            return _facts("clarify", tool="quote_hotel")
        city, check_in = city or belief.last_flight[0], check_in or belief.last_flight[1]
    if "nights" in facts:
        nights = facts["nights"]
    else:
        nights = (date.fromisoformat(facts["check_out"]) - date.fromisoformat(check_in)).days
    member = facts["loyalty_id"] or belief.loyalty_id
    if member is UNKNOWN:
        return None
    known = world.members.get(member) if member else None
    percent = world.tier_discount[known.tier] if known else 0
    guests = facts["guests"]

    def per_night(hotel: Any) -> int:
        return int(hotel.nightly + hotel.extra_guest * max(0, guests - 2))

    fitting = [h for h in world.hotels if h.city == city and h.max_guests >= guests]
    if not fitting:
        return _facts("no_hotel", city=city, guests=guests)
    best = min(fitting, key=lambda h: (per_night(h), h.id))
    stay = per_night(best) * nights
    # Key order is the order the drive names a wrong answer by: discount, nights, the rest.
    return _facts(
        "hotel_quote",
        discount_percent=percent,
        nights=nights,
        hotel=best.id,
        city=city,
        check_in=check_in,
        guests=guests,
        total=stay - stay * percent // 100,
    )


def _booking_state(world: World, ref: str, today: date, belief: Belief) -> str | None:
    booking = world.bookings[ref]
    if booking.cancelled:
        return "cancelled"
    if belief.cancelled is UNKNOWN:
        return None
    if ref in belief.cancelled:
        return "cancelled"
    return "completed" if booking.starts < today else "confirmed"


def _booking(world: World, turn: Turn, belief: Belief) -> Expected | None:
    ref = turn.facts["ref"]
    if ref not in world.bookings:
        return _facts("booking_not_found", ref=ref)
    today = date.fromisoformat(turn.message["date"])
    status = _booking_state(world, ref, today, belief)
    if status is None:
        return None
    if turn.intent == "status":
        return _facts("booking_status", ref=ref, status=status)
    if status != "confirmed":
        return _facts("cannot_cancel", ref=ref, status=status)
    booking = world.bookings[ref]
    days = (booking.starts - today).days
    percent = 100 if days >= 14 else 50 if days >= 2 else 0
    return _facts(
        "booking_cancelled", ref=ref, refund=booking.total * percent // 100, refund_percent=percent
    )


def _loyalty(world: World, loyalty_id: str) -> Expected:
    member = world.members.get(loyalty_id)
    if member is None:
        return _facts("unknown_member", loyalty_id=loyalty_id)
    return _facts("loyalty_balance", loyalty_id=loyalty_id, tier=member.tier, points=member.points)


def expected(world: World, turn: Turn, belief: Belief) -> Expected | None:
    """The facts of the right reply to ``turn`` given ``belief``; None when unknown."""
    if turn.intent == "chat":
        return {"intent": "chat"}
    if turn.intent == "flights":
        return _flights(world, turn.facts)
    if turn.intent == "hotel":
        return _hotel(world, turn.facts, belief)
    if turn.intent == "loyalty":
        return _loyalty(world, turn.facts["loyalty_id"])
    return _booking(world, turn, belief)


def advance(turn: Turn, belief: Belief, want: Expected | None, ok: bool) -> None:
    """Move ``belief`` past ``turn``. ``want`` is what the oracle expected (None: unknown);
    ``ok`` says the agent answered and, when checked, answered right."""
    if not ok:
        belief.forget(turn)
        return
    if turn.facts.get("loyalty_id"):
        belief.loyalty_id = turn.facts["loyalty_id"]
    if turn.intent == "flights":
        belief.last_flight = (turn.facts["destination"], turn.facts["date"])
    cancelled = want is not None and want["intent"] == "booking_cancelled"
    if turn.intent == "cancel" and cancelled and belief.cancelled is not UNKNOWN:
        belief.cancelled = [*belief.cancelled, turn.facts["ref"]]
