"""Seeded conversations of travellers with the agent.

Each message carries the facts it states (``Turn.facts``: which route, which dates, which
booking) so the oracle knows what was asked without parsing the text the way the model
does. The phrasings vary the way people write: city names, three date formats, a stay given
by its check-out date or by its nights, "a hotel there" after a flight, a loyalty number
given once and relied on later, mistyped references and loyalty numbers. The same
(sessions, seed) always gives the same conversations, dates included.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from traffic.world import World, load

FIRST_DAY = date(2024, 6, 24)
DAYS = 12  # conversations happen between 2024-06-24 and 2024-07-05
TRAVEL_FIRST, TRAVEL_DAYS = date(2024, 7, 1), 12  # the data's flights: 2024-07-01..12
NAMES = {
    "LIS": "Lisbon", "OPO": "Porto", "MAD": "Madrid", "BCN": "Barcelona", "PAR": "Paris",
    "ROM": "Rome", "AMS": "Amsterdam", "BER": "Berlin",
}  # fmt: skip
TASKS = {  # turn intent -> weight among a conversation's requests
    "flights": 28,
    "hotel": 30,
    "status": 14,
    "cancel": 5,
    "loyalty": 6,
    "chat": 8,
}
GUESTS = ([1, 2, 3, 4], [45, 30, 17, 8])


@dataclass(frozen=True)
class Turn:
    """One traveller message: what is sent, and what it asks (for the oracle)."""

    message: dict[str, Any]
    intent: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Script:
    session_id: str
    turns: list[Turn]


def spell_date(rng: random.Random, day: date) -> str:
    form = rng.randrange(3)
    if form == 0:
        return day.isoformat()
    month = day.strftime("%B")
    return f"{day.day} {month} {day.year}" if form == 1 else f"{month} {day.day}, {day.year}"


def _stay_day(rng: random.Random) -> date:
    return TRAVEL_FIRST + timedelta(days=rng.randrange(TRAVEL_DAYS))


class _Writer:
    """Writes one conversation; keeps what the traveller already said."""

    def __init__(self, rng: random.Random, world: World, today: date) -> None:
        self.rng, self.world, self.today = rng, world, today
        self.turns: list[Turn] = []
        self.refs: list[str] = []

    def say(self, text: str, intent: str, **facts: Any) -> None:
        self.turns.append(Turn({"text": text, "date": self.today.isoformat()}, intent, facts))

    def loyalty_number(self, typo_rate: float) -> str:
        if self.rng.random() < typo_rate:
            return f"TL-{self.rng.choice([1, 2, 9]) * 1000 + self.rng.randint(20, 99)}"
        return self.rng.choice(sorted(self.world.members))

    def spell_member(self, loyalty_id: str) -> str:
        digits = loyalty_id[3:]
        return self.rng.choice([f"TL-{digits}", f"TL-{digits}", f"TL{digits}", f"tl {digits}"])

    def booking_ref(self) -> str:
        if self.refs and self.rng.random() < 0.3:
            return self.rng.choice(self.refs)  # the same booking again
        if self.rng.random() < 0.08:
            return f"BK{self.rng.choice([21, 30, 12]) * 100 + self.rng.randint(1, 99):04d}"
        ref = self.rng.choice(sorted(self.world.bookings))
        self.refs.append(ref)
        return ref


def _loyalty(w: _Writer) -> None:
    member = w.loyalty_number(typo_rate=0.1)
    spelt = w.spell_member(member)
    text = w.rng.choice(
        [
            "My loyalty number is {}, how many points do I have?",
            "What's the points balance on {}?",
            "loyalty balance for {} please",
        ]
    )
    w.say(text.format(spelt), "loyalty", loyalty_id=member)


def _flights(w: _Writer) -> None:
    rng = w.rng
    if rng.random() < 0.88:
        origin, destination = rng.choice(w.world.routes())
    else:
        origin, destination = rng.sample(sorted(NAMES), 2)
    day = _stay_day(rng)
    passengers = rng.choices([1, 2, 3, 4], [55, 28, 12, 5])[0]
    currency = rng.choices(["EUR", "USD", "GBP"], [70, 18, 12])[0]
    pax = ""
    if passengers > 1 or rng.random() < 0.1:
        noun = "passenger" if passengers == 1 else rng.choice(["passengers", "people", "adults"])
        pax = f" for {passengers} {noun}"
    cur = ""
    if currency != "EUR":
        cur = rng.choice([" in {}", ", prices in {} please"]).format(currency)
    elif rng.random() < 0.1:
        cur = " in euros"
    a, b, d = NAMES[origin], NAMES[destination], spell_date(rng, day)
    text = rng.choice(
        [
            f"Find me a flight from {a} to {b} on {d}{pax}{cur}",
            f"Any flights from {a} to {b} on {d}{pax}?{cur}",
            f"I want to fly to {b} from {a} on {d}{pax}{cur}",
            f"flights {a} to {b} {d}{pax}{cur}",
        ]
    )
    w.say(text, "flights", origin=origin, destination=destination, date=day.isoformat(),
          passengers=passengers, currency=currency)  # fmt: skip
    if rng.random() < 0.45:
        _hotel_there(w, day)


def _guests_phrase(w: _Writer) -> tuple[int, str]:
    guests = w.rng.choices(*GUESTS)[0]
    if guests == 1 and w.rng.random() < 0.8:
        return 1, ""
    noun = "guest" if guests == 1 else w.rng.choice(["guests", "people"])
    return guests, f" for {guests} {noun}"


def _inline_member(w: _Writer) -> tuple[str | None, str]:
    if w.rng.random() >= 0.2:
        return None, ""
    member = w.loyalty_number(typo_rate=0.45)
    spelt = w.spell_member(member)
    return member, w.rng.choice([f" My loyalty number is {spelt}.", f" I'm member {spelt}."])


def _hotel_there(w: _Writer, arrival: date) -> None:
    """'a hotel there' right after a flight search: city and check-in come from the flight."""
    rng = w.rng
    guests, people = _guests_phrase(w)
    member, card = _inline_member(w)
    nights = rng.randint(1, 5)
    if rng.random() < 0.6:
        unit = "night" if nights == 1 else "nights"
        text = f"I'll also need a hotel there for {nights} {unit}{people}.{card}"
        w.say(text, "hotel", city=None, check_in=None, nights=nights, guests=guests,
              loyalty_id=member)  # fmt: skip
    else:
        out = arrival + timedelta(days=nights)
        text = f"And a hotel there until {spell_date(rng, out)}{people}, please.{card}"
        w.say(text, "hotel", city=None, check_in=None, check_out=out.isoformat(), guests=guests,
              loyalty_id=member)  # fmt: skip


def _hotel(w: _Writer) -> None:
    rng = w.rng
    city = rng.choice(sorted(NAMES))
    check_in = _stay_day(rng)
    nights = rng.randint(1, 5)
    guests, people = _guests_phrase(w)
    member, card = _inline_member(w)
    name, d1 = NAMES[city], spell_date(rng, check_in)
    facts: dict[str, Any] = {"city": city, "check_in": check_in.isoformat(), "guests": guests}
    if rng.random() < 0.3:
        d2 = spell_date(rng, check_in + timedelta(days=nights))
        text = rng.choice(
            [
                f"I need a hotel in {name} from {d1} to {d2}{people}.",
                f"Can you quote a room in {name}, checking in {d1}, checking out {d2}{people}?",
                f"Hotel in {name} {d1} until {d2}{people}, please",
            ]
        )
        facts["check_out"] = (check_in + timedelta(days=nights)).isoformat()
    else:
        unit = "night" if nights == 1 else "nights"
        text = rng.choice(
            [
                f"Hotel in {name} for {nights} {unit} from {d1}{people}",
                f"I'd like a room in {name} for {nights} {unit} starting {d1}{people}.",
            ]
        )
        facts["nights"] = nights
    w.say(text + card, "hotel", loyalty_id=member, **facts)


def _status(w: _Writer) -> None:
    ref = w.booking_ref()
    text = w.rng.choice(
        ["What's the status of booking {}?", "Is {} still confirmed?", "check my booking {} please"]
    )
    w.say(text.format(ref), "status", ref=ref)


def _cancel(w: _Writer) -> None:
    ref = w.booking_ref()
    text = w.rng.choice(
        ["Please cancel booking {}", "I need to cancel {}", "cancel my booking {}, plans changed"]
    )
    w.say(text.format(ref), "cancel", ref=ref)
    if w.rng.random() < 0.3:
        w.say(f"What is the status of {ref} now?", "status", ref=ref)


def _chat(w: _Writer) -> None:
    text = w.rng.choice(
        ["Do you do car rentals?", "thanks!", "ok thank you", "Can you recommend a restaurant?"]
    )
    w.say(text, "chat")


WRITERS = {
    "flights": _flights,
    "hotel": _hotel,
    "status": _status,
    "cancel": _cancel,
    "loyalty": _loyalty,
    "chat": _chat,
}


def generate(sessions: int, seed: int = 7) -> list[Script]:
    """``sessions`` scripted conversations; the same arguments always give the same scripts."""
    rng = random.Random(seed)
    world = load()
    intents, weights = zip(*TASKS.items(), strict=True)
    scripts: list[Script] = []
    for number in range(sessions):
        w = _Writer(rng, world, FIRST_DAY + timedelta(days=rng.randrange(DAYS)))
        if rng.random() < 0.5:
            w.say(rng.choice(["Hi", "Hello!", "hey there", "Good morning"]), "chat")
        if rng.random() < 0.2:
            _loyalty(w)
        for intent in rng.choices(intents, weights, k=rng.randint(2, 5)):
            WRITERS[intent](w)
        scripts.append(Script(f"s{seed}-{number:05d}", w.turns))
    return scripts
