"""Hotel quotes: the cheapest room in a city for the guests, for the nights, less the discount."""

from __future__ import annotations

from datetime import date

from travel_agent import replies
from travel_agent.tools.data import Row, rows

INCLUDED_GUESTS = 2  # a nightly rate covers two guests; each one more pays extra_guest


def nightly_for(hotel: Row, guests: int) -> int:
    """One night at ``hotel`` for ``guests``, in EUR cents."""
    extra = max(0, guests - INCLUDED_GUESTS)
    return int(hotel["nightly"]) + int(hotel["extra_guest"]) * extra


def quote(
    city: str,
    check_in: date,
    nights: int,
    guests: int,
    discount_percent: int,
    traveller: str | None = None,
) -> replies.Reply:
    """The cheapest hotel of ``city`` whose rooms take ``guests``, for ``nights`` nights.

    The member discount is taken off the whole stay and rounded down to the cent.
    """
    fitting = [h for h in rows("hotels") if h["city"] == city and h["max_guests"] >= guests]
    if not fitting:
        return replies.no_hotel(city, guests)
    hotel = min(fitting, key=lambda h: (nightly_for(h, guests), h["hotel"]))
    stay = nightly_for(hotel, guests) * nights
    discount = stay * discount_percent // 100
    return replies.hotel_quote(
        hotel["hotel"],
        hotel["name"],
        city,
        check_in,
        nights,
        guests,
        discount_percent,
        stay - discount,
        traveller,
    )
