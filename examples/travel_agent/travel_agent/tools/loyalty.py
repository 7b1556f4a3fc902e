"""The loyalty programme: members' points, and the hotel discount their tier earns."""

from __future__ import annotations

from travel_agent import replies
from travel_agent.tools.data import Row, by_key, table

MEMBERS = by_key("members", "loyalty_id")
TIER_DISCOUNT: dict[str, int] = table("members")["tier_discount"]


def find(loyalty_id: str) -> Row | None:
    return MEMBERS.get(loyalty_id)


def balance(loyalty_id: str) -> replies.Reply:
    member = find(loyalty_id)
    if member is None:
        return replies.unknown_member(loyalty_id)
    return replies.loyalty_balance(loyalty_id, member["name"], member["tier"], member["points"])


def discount_percent(loyalty_id: str | None) -> int:
    """The hotel discount, in percent, of the member ``loyalty_id``; 0 without a membership."""
    if loyalty_id is None:
        return 0
    member = MEMBERS[loyalty_id]
    return TIER_DISCOUNT[member["tier"]]
