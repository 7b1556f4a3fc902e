"""How the stand-in model decides: keywords and regular expressions over the user's message.

A real model reads the message and picks a tool with arguments; these rules do the same for
the phrasings the demo's traffic uses, deterministically, so a recording of the demo can be
replayed and its oracle knows what the model will do. Like a real model with function
calling, they leave out an optional argument the message does not give, normalise what they
extract (city names to codes, dates to YYYY-MM-DD, "tl 1001" to "TL-1001"), and answer in
words when no tool fits or something the tool needs is missing.

``decide(text, offered)`` -> ``Call(name, arguments)`` or ``Say(text)``; ``offered`` is the set
of tool names the request declares (a tool the request does not offer is never called).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

CITIES = {
    "lisbon": "LIS", "porto": "OPO", "oporto": "OPO", "madrid": "MAD", "barcelona": "BCN",
    "paris": "PAR", "rome": "ROM", "amsterdam": "AMS", "berlin": "BER",
}  # fmt: skip
CODES = set(CITIES.values())
MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
_MONTH = "|".join(MONTHS)
_CITY = re.compile(r"\b(" + "|".join(CITIES) + r")\b", re.IGNORECASE)
_CODE = re.compile(r"\b(" + "|".join(sorted(CODES)) + r")\b")  # capitals only: not 'par'

_DATES = [
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), "ymd"),
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)? ({_MONTH}),? (\d{{4}})\b"), "dmy"),
    (re.compile(rf"\b({_MONTH}) (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})\b"), "mdy"),
]
_CHECK_OUT_BEFORE = re.compile(
    r"\b(?:until|till|to|through|checking out(?: on)?|check-?out(?: on)?|leaving(?: on)?)\W*$"
)
_REF = re.compile(r"\bbk[- ]?(\d{4})\b")
_LOYALTY = re.compile(r"\btl[- ]?(\d{4})\b")
_NIGHTS = re.compile(r"\b(\d{1,2}) nights?\b")
_GUESTS = re.compile(r"\b(\d{1,2}) (?:guests?|people|persons|adults)\b")
_PASSENGERS = re.compile(r"\b(\d{1,2}) (?:passengers?|people|persons|adults|travell?ers|seats)\b")
_CURRENCY = {
    "usd": "USD", "dollar": "USD", "dollars": "USD", "gbp": "GBP", "pound": "GBP",
    "pounds": "GBP", "eur": "EUR", "euro": "EUR", "euros": "EUR",
}  # fmt: skip
_CURRENCY_WORD = re.compile(r"\b(" + "|".join(_CURRENCY) + r")\b")
_HOTEL = re.compile(r"\b(?:hotels?|rooms?|accommodation|place to stay)\b")
_FLIGHT = re.compile(r"\b(?:flights?|fly|flying|plane)\b")
_POINTS = re.compile(r"\b(?:points|balance|loyalty|miles|membership)\b")
_GREETING = re.compile(r"^\W*(?:hi|hello|hey|good (?:morning|afternoon|evening))\b")
_THANKS = re.compile(r"\b(?:thanks|thank you|cheers)\b")

GREETING = (
    "Hello! I can search flights, quote hotels, check or cancel bookings and look up your "
    "loyalty points. Where would you like to go?"
)
THANKS = "You're welcome! Anything else for your trip?"
FALLBACK = "I can help with flights, hotels, bookings and loyalty points. What do you need?"
ASK_ROUTE = "Where are you flying from and to?"
ASK_DATE = "On which date would you like to fly?"


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Say:
    text: str


def decide(text: str, offered: set[str]) -> Call | Say:
    original = " ".join(text.split())
    lowered = original.lower()  # same positions as ``original``
    call = _tool_call(original, lowered)
    if isinstance(call, Call) and call.name not in offered:
        return Say(FALLBACK)
    if call is not None:
        return call
    if _GREETING.search(lowered):
        return Say(GREETING)
    if _THANKS.search(lowered):
        return Say(THANKS)
    return Say(FALLBACK)


def _tool_call(original: str, text: str) -> Call | Say | None:
    ref = _REF.search(text)
    if ref is not None:
        name = "cancel_booking" if re.search(r"\bcancel", text) else "booking_status"
        return Call(name, {"booking_ref": f"BK{ref.group(1)}"})
    if _HOTEL.search(text):
        return _hotel(original, text)
    if _FLIGHT.search(text):
        return _flight(original, text)
    member = _LOYALTY.search(text)
    if member is not None or _POINTS.search(text):
        return Call("loyalty_balance", {"loyalty_id": f"TL-{member.group(1)}"} if member else {})
    return None


def _hotel(original: str, text: str) -> Call:
    arguments: dict[str, Any] = {}
    cities = _cities(original, text)
    if cities:
        arguments["city"] = cities[0][1]
    check_in, check_out = _stay_dates(text)
    if check_in is not None:
        arguments["check_in"] = check_in
    if check_out is not None:
        arguments["check_out"] = check_out
    _number(arguments, "nights", _NIGHTS, text)
    _number(arguments, "guests", _GUESTS, text)
    member = _LOYALTY.search(text)
    if member is not None:
        arguments["loyalty_id"] = f"TL-{member.group(1)}"
    return Call("quote_hotel", arguments)


def _flight(original: str, text: str) -> Call | Say:
    cities = _cities(original, text)
    origin = _after(text, cities, "from")
    destination = _after(text, cities, "to")
    rest = [code for _, code in cities if code not in (origin, destination)]
    origin = origin or (rest.pop(0) if rest else None)
    destination = destination or (rest.pop(0) if rest else None)
    if origin is None or destination is None:
        return Say(ASK_ROUTE)
    dates = _dates(text)
    if not dates:
        return Say(ASK_DATE)
    arguments: dict[str, Any] = {"origin": origin, "destination": destination}
    arguments["date"] = dates[0][1]
    _number(arguments, "passengers", _PASSENGERS, text)
    currency = _CURRENCY_WORD.search(text)
    if currency is not None:
        arguments["currency"] = _CURRENCY[currency.group(1)]
    return Call("search_flights", arguments)


def _cities(original: str, text: str) -> list[tuple[int, str]]:
    """(position, code) of each city named ('Lisbon', or a code in capitals), in order."""
    found = [(m.start(), CITIES[m.group(1).lower()]) for m in _CITY.finditer(original)]
    found += [(m.start(), m.group(1)) for m in _CODE.finditer(original)]
    return sorted(found)


def _after(text: str, cities: list[tuple[int, str]], word: str) -> str | None:
    """The city right after ``word`` ('from Lisbon', 'to Madrid')."""
    for start, code in cities:
        if text[:start].rstrip().endswith(f" {word}") or text[:start].rstrip() == word:
            return code
    return None


def _dates(text: str) -> list[tuple[int, str]]:
    """(position, YYYY-MM-DD) of each valid date written in the message, in order."""
    found = []
    for pattern, order in _DATES:
        for match in pattern.finditer(text):
            parts = match.groups()
            if order == "ymd":
                year, month, day = int(parts[0]), int(parts[1]), int(parts[2])
            elif order == "dmy":
                day, month, year = int(parts[0]), MONTHS.index(parts[1]) + 1, int(parts[2])
            else:
                month, day, year = MONTHS.index(parts[0]) + 1, int(parts[1]), int(parts[2])
            try:
                found.append((match.start(), date(year, month, day).isoformat()))
            except ValueError:
                continue
    return sorted(found)


def _stay_dates(text: str) -> tuple[str | None, str | None]:
    """Check-in and check-out: a date after 'until', 'to', 'checking out'... is the
    check-out; otherwise the first date is the check-in and a second one the check-out."""
    check_in = check_out = None
    for start, value in _dates(text):
        if _CHECK_OUT_BEFORE.search(text[:start]) and check_out is None:
            check_out = value
        elif check_in is None:
            check_in = value
        elif check_out is None:
            check_out = value
    return check_in, check_out


def _number(arguments: dict[str, Any], key: str, pattern: re.Pattern[str], text: str) -> None:
    match = pattern.search(text)
    if match is not None:
        arguments[key] = int(match.group(1))
