"""The router: what a message asks for, which skill answers it, and what the session remembers.

Intent detection is a short list of patterns tried in order (deterministic, no model). The
session state keys the router keeps are documented in app.py.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from support_agent import replies
from support_agent.skills import dates, orders, refunds, units
from support_agent.skills.db import find_order

ORDER_ID = re.compile(r"(?:\border\b|#)\s*#?\s*(\d{3,6})\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
RETURN_LINE = re.compile(r"\b(\d+)\s*x\s*([a-z]{3}-\d{3})\b")
CONVERT_FULL = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]{3})\s+(?:to|in|into)\s+([a-z]{3})\b")
CONVERT_TARGET = re.compile(r"\b(?:in|into)\s+([a-z]{3})\W*$")
YES = {"yes", "y", "yes please", "yep", "sure", "ok", "confirm"}
NO = {"no", "n", "no thanks", "nope", "don't", "keep it"}

# (intent, pattern) tried in order; the first match wins.
INTENTS: list[tuple[str, re.Pattern[str]]] = [
    ("cancel", re.compile(r"\bcancel\b")),
    ("convert", re.compile(r"\bconvert\b|\b(?:in|into)\s+[a-z]{3}\W*$")),
    ("refund", re.compile(r"\brefund|\bmoney back\b|\bget back\b")),
    ("return", re.compile(r"\breturn")),
    ("delivery", re.compile(r"\barriv|\bdeliver|\beta\b|\bwhen will\b")),
    ("list", re.compile(r"\bmy orders\b|\brecent orders\b|\border history\b")),
    ("weight", re.compile(r"\bweigh|\bheavy\b")),
    ("status", re.compile(r"\bstatus\b|\bwhere is\b|\btrack")),
    ("greeting", re.compile(r"^(?:hi|hello|hey|good (?:morning|afternoon|evening))\b")),
]


def classify(text: str) -> str:
    """The intent of a lower-cased message, 'status' for a bare order number, or 'unknown'."""
    for intent, pattern in INTENTS:
        if pattern.search(text):
            return intent
    return "status" if ORDER_ID.search(text) else "unknown"


def _confirm(answer: str, state: dict[str, Any]) -> replies.Reply:
    pending = state.pop("pending", None)
    if not isinstance(pending, dict) or pending.get("action") != "cancel":
        return replies.nothing_pending()
    order_id = int(pending["order"])
    if answer in NO:
        return replies.kept(order_id)
    state.setdefault("cancelled", []).append(order_id)
    return replies.cancelled(order_id)


def _convert(text: str, state: dict[str, Any]) -> replies.Reply:
    full = CONVERT_FULL.search(text)
    if full is not None:
        return units.convert(Decimal(full.group(1)), full.group(2), full.group(3))
    target = CONVERT_TARGET.search(text)
    last = state.get("last_amount")
    if target is None or not isinstance(last, int):
        return replies.nothing_to_convert()
    return units.convert(Decimal(last) / 100, "USD", target.group(1))


def _weight(order_id: int) -> replies.Reply:
    order = find_order(order_id)
    if order is None:
        return replies.order_not_found(order_id)
    return units.weight(order)


def _delivery(order_id: int) -> replies.Reply:
    order = find_order(order_id)
    if order is None:
        return replies.order_not_found(order_id)
    return dates.delivery_estimate(order)


def dispatch(intent: str, text: str, today: date, state: dict[str, Any]) -> replies.Reply:
    """Call the skill for ``intent``; ask for what is missing (an order, an account)."""
    if intent == "greeting":
        return replies.greeting()
    if intent == "convert":
        return _convert(text, state)
    if intent == "list":
        customer = state.get("customer")
        if not isinstance(customer, int):
            return replies.need_identification()
        return orders.list_orders(customer)
    if intent == "unknown":
        return replies.fallback()
    order_id = state.get("order")
    if not isinstance(order_id, int):
        return replies.need_order()
    cancelled = list(state.get("cancelled", []))
    if intent == "cancel":
        return orders.cancel(order_id, cancelled)
    if intent == "refund":
        lines = {sku.upper(): int(n) for n, sku in RETURN_LINE.findall(text)}
        return refunds.quote_refund(order_id, lines or None)
    if intent == "return":
        return refunds.can_return(order_id, today)
    if intent == "delivery":
        return _delivery(order_id)
    if intent == "weight":
        return _weight(order_id)
    return orders.order_status(order_id, cancelled)


def route(text: str, today: date, state: dict[str, Any]) -> replies.Reply:
    """Answer one message of a session, updating the session's state in place."""
    text = " ".join(text.lower().split())
    answer = text.strip(" .!")
    if "pending" in state and (answer in YES or answer in NO):
        return _confirm(answer, state)
    state.pop("pending", None)
    email = EMAIL.search(text)
    if email is not None:
        return orders.identify(email.group(0), state)
    mentioned = ORDER_ID.search(text)
    if mentioned is not None:
        state["order"] = int(mentioned.group(1))
    reply = dispatch(classify(text), text, today, state)
    amount = reply["data"].get("amount_cents")
    if isinstance(amount, int):
        state["last_amount"] = amount
    if reply["intent"] == "confirm_cancel":
        state["pending"] = {"action": "cancel", "order": reply["data"]["order_id"]}
    return reply
