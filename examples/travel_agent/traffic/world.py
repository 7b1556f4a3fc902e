"""The traffic's own read-only view of the travel data, independent of the agent's tools.

The oracle must not trust the agent's code to tell it what is right, so it reads the same
bundled JSON files into its own records and answers from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "travel_agent" / "data"


@dataclass(frozen=True)
class Flight:
    number: str
    origin: str
    destination: str
    day: date
    departs: str
    price: int  # EUR cents per passenger
    seats: int


@dataclass(frozen=True)
class Hotel:
    id: str
    city: str
    nightly: int
    max_guests: int
    extra_guest: int


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    tier: str
    points: int


@dataclass(frozen=True)
class Booking:
    ref: str
    kind: str
    starts: date
    total: int
    cancelled: bool


@dataclass(frozen=True)
class World:
    flights: list[Flight]
    hotels: list[Hotel]
    members: dict[str, Member]
    bookings: dict[str, Booking]
    tier_discount: dict[str, int]

    def routes(self) -> list[tuple[str, str]]:
        return sorted({(f.origin, f.destination) for f in self.flights})


def _file(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


@cache
def load() -> World:
    flights = [
        Flight(r["flight"], r["origin"], r["destination"], date.fromisoformat(r["date"]),
               r["departs"], r["price"], r["seats"])
        for r in _file("flights")["rows"]
    ]  # fmt: skip
    hotels = [
        Hotel(r["hotel"], r["city"], r["nightly"], r["max_guests"], r["extra_guest"])
        for r in _file("hotels")["rows"]
    ]
    members_file = _file("members")
    members = {
        r["loyalty_id"]: Member(r["loyalty_id"], r["name"], r["tier"], r["points"])
        for r in members_file["rows"]
    }
    bookings = {
        r["ref"]: Booking(
            r["ref"], r["kind"], date.fromisoformat(r["starts"]), r["total"],
            r["status"] == "cancelled",
        )
        for r in _file("bookings")["rows"]
    }  # fmt: skip
    return World(flights, hotels, members, bookings, dict(members_file["tier_discount"]))
