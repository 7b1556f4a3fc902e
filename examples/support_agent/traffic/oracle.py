"""The reference: the right reply to a message, given what the session is known to hold.

Written separately from the agent's skills (its own data access, its own date and money
arithmetic) so that a bug in a skill is not copied into the judge. It renders replies with
the agent's protected ``replies`` module, so it checks facts, not wording.

``Belief`` is what the customer side knows of the session's state. After a reply that was
wrong or an error, the keys that call could have touched become unknown, and messages that
depend on them are not checked: the oracle never blames a reply on a state it cannot know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from support_agent import replies

from traffic.generate import Turn
from traffic.shop import Shop, ShopOrder

UNKNOWN: Any = object()
HOLIDAYS = {"2024-05-27", "2024-06-19", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"}
FEE_PERCENT = {"electronics": 15, "home": 10}
PER_USD = {"USD": "1", "EUR": "0.92", "GBP": "0.79", "CHF": "0.89", "JPY": "157"}


@dataclass
class Belief:
    """What the session state is known to hold (``UNKNOWN`` once a failure may have changed it)."""

    customer: Any = None
    order: Any = None
    last_amount: Any = None
    pending: Any = None
    cancelled: Any = field(default_factory=list)

    def forget(self, intent: str) -> None:
        """A call failed or answered wrongly: what it could have changed is now unknown."""
        if intent == "identify":
            self.customer = UNKNOWN
        self.order = self.last_amount = self.pending = self.cancelled = UNKNOWN


def _eta(shipped: date, days: int) -> date:
    day = shipped
    while days:
        day += timedelta(days=1)
        if day.isoweekday() <= 5 and day.isoformat() not in HOLIDAYS:
            days -= 1
    return day


def _cents(value: Decimal, currency: str) -> str:
    unit = Decimal("1") if currency == "JPY" else Decimal("0.01")
    return str(value.quantize(unit, rounding=ROUND_HALF_UP))


def _convert(amount: Decimal, source: str, target: str) -> replies.Reply:
    if source not in PER_USD or target not in PER_USD:
        return replies.unsupported_currency(source, target, sorted(PER_USD))
    value = amount * Decimal(PER_USD[target]) / Decimal(PER_USD[source])
    return replies.converted(_cents(amount, source), source, _cents(value, target), target)


def _refund(order: ShopOrder, lines: dict[str, int] | None) -> replies.Reply:
    if order.delivered is None:
        return replies.not_delivered(order.id)
    wanted = lines or {line.sku: line.quantity for line in order.lines}
    have = {line.sku: line for line in order.lines}
    items = fee = 0
    for sku in sorted(wanted):
        line = have.get(sku)
        if line is None or wanted[sku] > line.quantity:
            return replies.unknown_item(order.id, sku)
        items += line.price * wanted[sku]
        if line.opened:
            fee += (line.price * wanted[sku] * FEE_PERCENT.get(line.category, 0) + 50) // 100
    everything = all(wanted.get(line.sku) == line.quantity for line in order.lines)
    shipping = order.shipping if everything else 0
    return replies.refund_quote(order.id, items, fee, shipping, items - fee + shipping)


def _return_window(order: ShopOrder, today: date) -> replies.Reply:
    if order.delivered is None:
        return replies.not_delivered(order.id)
    deadline = order.delivered + timedelta(days=30)
    if order.ordered.month >= 11:
        deadline = max(deadline, date(order.ordered.year + 1, 1, 31))
    return replies.return_window(order.id, deadline, (deadline - today).days)


def _about_order(shop: Shop, turn: Turn, order_id: int, belief: Belief) -> replies.Reply | None:
    order, intent = shop.orders.get(order_id), turn.intent
    if order is None:
        return replies.order_not_found(order_id)
    if intent == "order_status":
        if belief.cancelled is UNKNOWN:
            return None
        status = "cancelled" if order.id in belief.cancelled else order.status
        when = {"shipped": order.shipped, "delivered": order.delivered}.get(status)
        return replies.order_status(order.id, status, when, order.total)
    if intent == "delivery_estimate":
        if order.delivered is not None:
            return replies.already_delivered(order.id, order.delivered)
        if order.shipped is None:
            return replies.not_shipped(order.id)
        eta = _eta(order.shipped, 2 if order.method == "express" else 5)
        return replies.delivery_estimate(order.id, order.shipped, order.method, eta)
    if intent == "return_window":
        return _return_window(order, date.fromisoformat(turn.message["date"]))
    if intent == "refund_quote":
        return _refund(order, turn.facts.get("lines"))
    grams = sum(line.weight * line.quantity for line in order.lines) + 250
    kg = (Decimal(grams) / 1000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    lb = (Decimal(grams) / Decimal("453.59237")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return replies.weight(order.id, grams, str(kg), str(lb))


def _order_reply(shop: Shop, turn: Turn, belief: Belief) -> replies.Reply | None:
    order_id = turn.facts.get("order") or belief.order
    if order_id is UNKNOWN:
        return None
    if order_id is None:
        return replies.need_order()
    if turn.intent != "cancel":
        return _about_order(shop, turn, order_id, belief)
    order = shop.orders.get(order_id)
    if order is None:
        return replies.order_not_found(order_id)
    if belief.cancelled is UNKNOWN:
        return None
    if order.id in belief.cancelled:
        return replies.cannot_cancel(order.id, "cancelled")
    if order.status != "processing":
        return replies.cannot_cancel(order.id, order.status)
    return replies.confirm_cancel(order.id)


def expected(shop: Shop, turn: Turn, belief: Belief) -> replies.Reply | None:
    """The right reply to ``turn`` given ``belief``; None when it cannot be known."""
    facts, intent = turn.facts, turn.intent
    if intent == "greeting":
        return replies.greeting()
    if intent == "fallback":
        return replies.fallback()
    if intent == "confirm":
        if belief.pending is UNKNOWN:
            return None
        if belief.pending is None:
            return replies.fallback()
        if facts["answer"] == "yes":
            return replies.cancelled(belief.pending)
        return replies.kept(belief.pending)
    if intent == "identify":
        cid = shop.by_email(facts["email"])
        if cid is None:
            return replies.unknown_customer(facts["email"])
        name = shop.customers[cid][0]
        mine = shop.orders_of(cid)
        if not mine:
            return replies.no_orders(name)
        return replies.identified(name, cid, len(mine), max(o.id for o in mine))
    if intent == "convert":
        if "amount" in facts:
            return _convert(Decimal(facts["amount"]), facts["source"], facts["target"])
        if belief.last_amount is UNKNOWN:
            return None
        if belief.last_amount is None:
            return replies.nothing_to_convert()
        return _convert(Decimal(belief.last_amount) / 100, "USD", facts["target"])
    if intent == "list_orders":
        if belief.customer is UNKNOWN:
            return None
        if belief.customer is None:
            return replies.need_identification()
        name = shop.customers[belief.customer][0]
        mine = sorted(shop.orders_of(belief.customer), key=lambda o: (o.ordered, o.id))[::-1][:5]
        if not mine:
            return replies.no_orders(name)
        return replies.recent_orders(name, [(o.id, o.ordered, o.total) for o in mine])
    return _order_reply(shop, turn, belief)


def advance(shop: Shop, turn: Turn, belief: Belief, reply: replies.Reply | None, ok: bool) -> None:
    """Move ``belief`` past ``turn``. ``reply`` is what the oracle expected (None: unknown);
    ``ok`` says the agent answered and, when checked, answered right."""
    if not ok:
        belief.forget(turn.intent)
        return
    if turn.intent == "confirm":
        if reply is None:
            belief.cancelled = UNKNOWN
        elif reply["intent"] == "cancelled" and belief.cancelled is not UNKNOWN:
            belief.cancelled = [*belief.cancelled, belief.pending]
        belief.pending = None
        return
    belief.pending = None
    if turn.intent == "identify":
        if reply is not None and reply["intent"] in {"identified", "no_orders"}:
            belief.customer = shop.by_email(turn.facts["email"])
        return
    if turn.facts.get("order") is not None:
        belief.order = turn.facts["order"]
    if reply is None:
        belief.pending = UNKNOWN if turn.intent == "cancel" else None
        if turn.intent in {"order_status", "refund_quote"}:
            belief.last_amount = UNKNOWN
        return
    amount = reply["data"].get("amount_cents")
    if isinstance(amount, int):
        belief.last_amount = amount
    if reply["intent"] == "confirm_cancel":
        belief.pending = reply["data"]["order_id"]
