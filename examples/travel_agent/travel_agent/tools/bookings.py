"""Existing bookings: their status, and cancelling one with the refund the policy allows."""

from __future__ import annotations

from datetime import date

from travel_agent import replies
from travel_agent.tools.data import Row, by_key

BOOKINGS = by_key("bookings", "ref")
# (at least this many days before the booking starts, percent refunded), best first.
REFUND_POLICY = ((14, 100), (2, 50))


def find(ref: str) -> Row | None:
    return BOOKINGS.get(ref)


def status_of(booking: Row, today: date, cancelled: list[str]) -> str:
    """'cancelled' (in the data or in this session), 'completed' once it started, else
    'confirmed'."""
    if booking["status"] == "cancelled" or booking["ref"] in cancelled:
        return "cancelled"
    if date.fromisoformat(booking["starts"]) < today:
        return "completed"
    return "confirmed"


def status(ref: str, today: date, cancelled: list[str]) -> replies.Reply:
    booking = find(ref)
    if booking is None:
        return replies.booking_not_found(ref)
    starts = date.fromisoformat(booking["starts"])
    return replies.booking_status(
        ref, booking["kind"], starts, status_of(booking, today, cancelled)
    )


def refund_percent(days_before: int) -> int:
    """How much of the price a cancellation ``days_before`` the start gets back."""
    for days, percent in REFUND_POLICY:
        if days_before >= days:
            return percent
    return 0


def cancel(ref: str, today: date, cancelled: list[str]) -> replies.Reply:
    """Cancel a confirmed booking (the caller records it in the session)."""
    booking = find(ref)
    if booking is None:
        return replies.booking_not_found(ref)
    current = status_of(booking, today, cancelled)
    if current != "confirmed":
        return replies.cannot_cancel(ref, current)
    percent = refund_percent((date.fromisoformat(booking["starts"]) - today).days)
    return replies.booking_cancelled(ref, int(booking["total"]) * percent // 100, percent)
