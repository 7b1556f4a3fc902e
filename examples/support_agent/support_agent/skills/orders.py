"""Order lookup: who the customer is, what they ordered, and where it is."""

from __future__ import annotations

from support_agent import replies
from support_agent.skills.db import Order, customer_by_id, find_customer, find_order, orders_of

RECENT = 5


def recent_orders(customer_id: int, limit: int = RECENT) -> list[Order]:
    """The customer's ``limit`` most recent orders, newest first."""
    orders = orders_of(customer_id)
    orders = orders[:limit]
    orders.sort(key=lambda order: (order.ordered_on, order.id), reverse=True)
    return orders


def identify(email: str, state: dict[str, object]) -> replies.Reply:
    """Find the account behind an email address and remember it for the session."""
    customer = find_customer(email)
    if customer is None:
        return replies.unknown_customer(email)
    state["customer"] = customer.id
    orders = orders_of(customer.id)
    latest = orders[-1]
    return replies.identified(customer.name, customer.id, len(orders), latest.id)


def list_orders(customer_id: int) -> replies.Reply:
    """The customer's most recent orders with their dates and totals."""
    customer = customer_by_id(customer_id)
    if customer is None:
        return replies.need_identification()
    orders = recent_orders(customer.id)
    if not orders:
        return replies.no_orders(customer.name)
    summary = [(order.id, order.ordered_on, order.total_cents) for order in orders]
    return replies.recent_orders(customer.name, summary)


def order_status(order_id: int, cancelled: list[int]) -> replies.Reply:
    """Where an order is; cancellations made in this session count before the database."""
    order = find_order(order_id)
    if order is None:
        return replies.order_not_found(order_id)
    status = "cancelled" if order.id in cancelled else order.status
    when = {"shipped": order.shipped_on, "delivered": order.delivered_on}.get(status)
    return replies.order_status(order.id, status, when, order.total_cents)


def cancel(order_id: int, cancelled: list[int]) -> replies.Reply:
    """Ask for confirmation before cancelling an order that has not shipped."""
    order = find_order(order_id)
    if order is None:
        return replies.order_not_found(order_id)
    if order.id in cancelled:
        return replies.cannot_cancel(order.id, "cancelled")
    if order.status != "processing":
        return replies.cannot_cancel(order.id, order.status)
    return replies.confirm_cancel(order.id)
