"""Returns and refunds: whether an order can still be returned, and what a return refunds.

Money is integer cents throughout: a refund must add up to the cent, which floats do not.
Opened items pay a restocking fee by category; shipping is refunded only when the whole
order comes back.
"""

from __future__ import annotations

from datetime import date

from support_agent import replies
from support_agent.skills.dates import return_deadline
from support_agent.skills.db import Item, find_order

RESTOCKING_PERCENT = {"electronics": 15, "home": 10, "apparel": 0, "books": 0}


def restocking_fee(item: Item, quantity: int) -> int:
    """Fee in cents for returning ``quantity`` of ``item``, rounded half up to the cent."""
    if not item.opened:
        return 0
    return (item.price_cents * quantity * RESTOCKING_PERCENT[item.category] + 50) // 100


def can_return(order_id: int, today: date) -> replies.Reply:
    """Whether the order is inside its return window on ``today``, and until when."""
    order = find_order(order_id)
    if order is None:
        return replies.order_not_found(order_id)
    if order.delivered_on is None:
        return replies.not_delivered(order.id)
    deadline = return_deadline(order.ordered_on, order.delivered_on)
    return replies.return_window(order.id, deadline, (deadline - today).days)


def quote_refund(order_id: int, quantities: dict[str, int] | None = None) -> replies.Reply:
    """What returning ``quantities`` (sku -> how many; None = everything) would refund."""
    order = find_order(order_id)
    if order.delivered_on is None:
        return replies.not_delivered(order.id)
    wanted = quantities or {item.sku: item.quantity for item in order.items}
    by_sku = {item.sku: item for item in order.items}
    items_cents = 0
    fee_cents = 0
    for sku, quantity in sorted(wanted.items()):
        item = by_sku.get(sku)
        if item is None or quantity > item.quantity:
            return replies.unknown_item(order.id, sku)
        items_cents += item.price_cents * quantity
        fee_cents += restocking_fee(item, quantity)
    whole_order = all(wanted.get(item.sku) == item.quantity for item in order.items)
    shipping_cents = order.shipping_cents if whole_order else 0
    total_cents = items_cents + fee_cents + shipping_cents
    return replies.refund_quote(order.id, items_cents, fee_cents, shipping_cents, total_cents)
