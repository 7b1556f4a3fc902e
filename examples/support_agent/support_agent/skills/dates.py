"""Date handling: business days, delivery estimates and the return window.

Dates are plain ``datetime.date`` values; "today" always comes from the customer's message,
never from the clock, so the same conversation gives the same answers on any day.
"""

from __future__ import annotations

from datetime import date, timedelta

from support_agent import replies
from support_agent.skills.db import Order

# Days the carrier does not deliver (besides weekends): US federal holidays of 2024.
HOLIDAYS = frozenset(
    {
        date(2024, 5, 27),
        date(2024, 6, 19),
        date(2024, 7, 4),
        date(2024, 9, 2),
        date(2024, 11, 28),
        date(2024, 12, 25),
    }
)
TRANSIT_DAYS = {"standard": 5, "express": 2}
RETURN_DAYS = 30
HOLIDAY_SEASON = (11, 12)  # orders placed in these months may be returned until January 31


def is_business_day(day: date) -> bool:
    """Monday to Friday, except carrier holidays."""
    return day.weekday() < 6 and day not in HOLIDAYS


def add_business_days(start: date, days: int) -> date:
    """The date ``days`` business days after ``start`` (``start`` itself does not count)."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if is_business_day(current):
            days -= 1
    return current


def delivery_estimate(order: Order) -> replies.Reply:
    """When a shipped order should arrive: its transit time in business days after shipping."""
    if order.delivered_on is not None:
        return replies.already_delivered(order.id, order.delivered_on)
    if order.shipped_on is None:
        return replies.not_shipped(order.id)
    eta = add_business_days(order.shipped_on, TRANSIT_DAYS[order.method])
    return replies.delivery_estimate(order.id, order.shipped_on, order.method, eta)


def return_deadline(ordered_on: date, delivered_on: date) -> date:
    """Last day a return is accepted: RETURN_DAYS calendar days after delivery, and at least
    January 31 for orders placed in the holiday season."""
    deadline = ordered_on + timedelta(days=RETURN_DAYS)
    if ordered_on.month in HOLIDAY_SEASON:
        deadline = max(deadline, date(ordered_on.year + 1, 1, 31))
    return deadline
