"""Every reply the agent can give, built in one place (protected: candidates never edit it).

A reply is a JSON object ``{"intent": str, "text": str, "data": {...}}``: ``text`` is what the
customer reads, ``data`` holds the facts behind it (ids, ISO dates, amounts in cents) so that
a client, a test or an oracle can check the answer without parsing prose. Keeping the wording
here means a skill can only get a *fact* wrong, which is what the checks look at.
"""

from __future__ import annotations

from datetime import date
from typing import Any

Reply = dict[str, Any]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def reply(intent: str, text: str, **data: Any) -> Reply:
    return {"intent": intent, "text": text, "data": data}


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def day(value: date) -> str:
    return f"{WEEKDAYS[value.weekday()]} {value.isoformat()}"


def greeting() -> Reply:
    return reply(
        "greeting",
        "Hi! I can look up orders, estimate deliveries, check returns, quote refunds and "
        "convert currencies. What can I do for you?",
    )


def fallback() -> Reply:
    return reply(
        "fallback",
        "Sorry, I did not get that. You can ask about an order (e.g. 'where is order 1042?'), "
        "a delivery date, a return or a refund.",
    )


def need_order() -> Reply:
    return reply("need_order", "Which order do you mean? Please give me its number.")


def need_identification() -> Reply:
    return reply("need_identification", "Please tell me the email address of your account first.")


def unknown_customer(email: str) -> Reply:
    return reply(
        "unknown_customer", f"I could not find an account for {email}.", email=email.lower()
    )


def identified(name: str, customer_id: int, order_count: int, latest_id: int) -> Reply:
    return reply(
        "identified",
        f"Thanks {name}, I found your account: {order_count} order(s), the latest is #{latest_id}.",
        customer_id=customer_id,
        order_count=order_count,
        latest_order=latest_id,
    )


def no_orders(name: str) -> Reply:
    return reply("no_orders", f"Thanks {name}, I found your account. You have no orders yet.")


def order_not_found(order_id: int) -> Reply:
    return reply(
        "order_not_found",
        f"I could not find order #{order_id}. Please check the number.",
        order_id=order_id,
    )


def order_status(order_id: int, status: str, when: date | None, total_cents: int) -> Reply:
    detail = f" on {day(when)}" if when is not None else ""
    return reply(
        "order_status",
        f"Order #{order_id} is {status}{detail}. Total {money(total_cents)}.",
        order_id=order_id,
        status=status,
        date=when.isoformat() if when is not None else None,
        amount_cents=total_cents,
    )


def recent_orders(name: str, orders: list[tuple[int, date, int]]) -> Reply:
    lines = "; ".join(f"#{oid} of {placed.isoformat()} ({money(c)})" for oid, placed, c in orders)
    return reply(
        "recent_orders",
        f"{name}, your most recent orders: {lines}.",
        orders=[oid for oid, _, _ in orders],
    )


def delivery_estimate(order_id: int, shipped_on: date, method: str, eta: date) -> Reply:
    return reply(
        "delivery_estimate",
        f"Order #{order_id} shipped {method} on {day(shipped_on)}; it should arrive by {day(eta)}.",
        order_id=order_id,
        eta=eta.isoformat(),
    )


def already_delivered(order_id: int, delivered_on: date) -> Reply:
    return reply(
        "already_delivered",
        f"Order #{order_id} was delivered on {day(delivered_on)}.",
        order_id=order_id,
        delivered_on=delivered_on.isoformat(),
    )


def not_shipped(order_id: int) -> Reply:
    return reply(
        "not_shipped",
        f"Order #{order_id} has not shipped yet; you will get an email when it does.",
        order_id=order_id,
    )


def not_delivered(order_id: int) -> Reply:
    return reply(
        "not_delivered",
        f"Order #{order_id} has not been delivered yet, so it cannot be returned. "
        "You can ask me to cancel it while it is processing.",
        order_id=order_id,
    )


def return_window(order_id: int, deadline: date, days_left: int) -> Reply:
    if days_left >= 0:
        text = f"Yes, order #{order_id} can be returned until {day(deadline)} ({days_left} day(s) left)."
    else:
        text = f"Sorry, the return window of order #{order_id} closed on {day(deadline)}."
    return reply(
        "return_window",
        text,
        order_id=order_id,
        eligible=days_left >= 0,
        deadline=deadline.isoformat(),
    )


def refund_quote(
    order_id: int, items_cents: int, fee_cents: int, shipping_cents: int, total_cents: int
) -> Reply:
    return reply(
        "refund_quote",
        f"Returning that from order #{order_id} refunds {money(total_cents)}: items "
        f"{money(items_cents)}, restocking fee {money(fee_cents)}, shipping {money(shipping_cents)}.",
        order_id=order_id,
        amount_cents=total_cents,
        fee_cents=fee_cents,
    )


def unknown_item(order_id: int, sku: str) -> Reply:
    return reply(
        "unknown_item",
        f"Order #{order_id} has no item {sku.upper()} (or fewer of it than that).",
        order_id=order_id,
        sku=sku.upper(),
    )


def converted(amount: str, source: str, value: str, target: str) -> Reply:
    return reply(
        "converted",
        f"{amount} {source} is about {value} {target} at today's rate.",
        source=source,
        target=target,
        value=value,
    )


def unsupported_currency(source: str, target: str, supported: list[str]) -> Reply:
    return reply(
        "unsupported_currency",
        f"Sorry, I cannot convert {source} to {target}; I know {', '.join(supported)}.",
        source=source,
        target=target,
    )


def nothing_to_convert() -> Reply:
    return reply(
        "nothing_to_convert",
        "Which amount should I convert? Try 'convert 25 USD to EUR'.",
    )


def weight(order_id: int, grams: int, kilograms: str, pounds: str) -> Reply:
    return reply(
        "weight",
        f"Order #{order_id} weighs {kilograms} kg ({pounds} lb) with packaging.",
        order_id=order_id,
        grams=grams,
    )


def confirm_cancel(order_id: int) -> Reply:
    return reply(
        "confirm_cancel",
        f"Do you want me to cancel order #{order_id}? Please answer yes or no.",
        order_id=order_id,
    )


def cancelled(order_id: int) -> Reply:
    return reply("cancelled", f"Order #{order_id} is cancelled.", order_id=order_id)


def cannot_cancel(order_id: int, status: str) -> Reply:
    return reply(
        "cannot_cancel",
        f"Order #{order_id} is already {status} and can no longer be cancelled.",
        order_id=order_id,
        status=status,
    )


def kept(order_id: int) -> Reply:
    return reply("kept", f"All right, order #{order_id} stays as it is.", order_id=order_id)


def nothing_pending() -> Reply:
    return reply("nothing_pending", "There is nothing waiting for a yes or no right now.")
