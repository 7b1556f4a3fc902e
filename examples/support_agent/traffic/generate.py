"""Seeded sessions of realistic customer messages.

Each message carries the facts it states (``Turn.facts``) so the oracle knows what was asked
without parsing the text the way the agent does. Frequencies follow what a support desk sees:
most people ask about an order they have, some mistype numbers, some have no orders yet, some
ask for currencies the shop does not handle. The same (sessions, seed) always gives the same
conversations, dates included.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from traffic.shop import Shop, ShopOrder, load

FIRST_DAY = date(2024, 6, 10)
DAYS = 12  # sessions happen between 2024-06-10 and 2024-06-21
TASKS = {  # intent -> weight of that intent among a session's requests
    "order_status": 14,
    "delivery_estimate": 16,
    "return_window": 14,
    "refund_quote": 18,
    "convert": 12,
    "list_orders": 10,
    "weight": 6,
    "cancel": 5,
    "fallback": 5,
}
SUPPORTED = ["EUR", "GBP", "JPY", "CHF", "USD"]
UNSUPPORTED = ["CAD", "AUD", "MXN", "SEK"]


@dataclass(frozen=True)
class Turn:
    """One customer message: what is sent, and what it asks (for the oracle)."""

    message: dict[str, Any]
    intent: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Script:
    session_id: str
    turns: list[Turn]


class _Writer:
    """Writes one session; keeps what the customer already said (their orders, the date)."""

    def __init__(self, rng: random.Random, shop: Shop, today: date) -> None:
        self.rng, self.shop, self.today = rng, shop, today
        self.turns: list[Turn] = []
        self.mine: list[ShopOrder] = []
        self.talked_about: int | None = None

    def say(self, text: str, intent: str, **facts: Any) -> None:
        message = {"text": text, "date": self.today.isoformat()}
        self.turns.append(Turn(message, intent, facts))

    def pick_order(self, wanted: str | None = None, typo_rate: float = 0.0) -> int:
        """An order number to ask about: usually one of the customer's, sometimes mistyped."""
        if self.rng.random() < typo_rate:
            return self.rng.choice([9000, 2000, 1500]) + self.rng.randint(1, 99)
        pool = [o for o in self.mine if wanted is None or o.status == wanted]
        if not pool or self.rng.random() < 0.3:
            pool = [o for o in self.shop.orders.values() if wanted is None or o.status == wanted]
        return self.rng.choice(sorted(pool, key=lambda o: o.id)).id

    def order_phrase(self, order_id: int) -> tuple[str, int | None]:
        """'order 1042', or 'it' when that order was the last one mentioned."""
        if self.talked_about == order_id and self.rng.random() < 0.5:
            return "it", None
        self.talked_about = order_id
        return self.rng.choice(["order {}", "order #{}", "#{}"]).format(order_id), order_id


def _identify(w: _Writer) -> None:
    rng = w.rng
    if rng.random() < 0.06:
        email = f"{rng.choice(['sam', 'kim', 'lee'])}{rng.randint(1, 99)}@example.org"
    else:
        cid = rng.choice(sorted(w.shop.customers))
        email = w.shop.customers[cid][1]
        w.mine = sorted(w.shop.orders_of(cid), key=lambda o: o.id)
    template = rng.choice(["my email is {}", "Hi, it's {}", "{}", "I'm {} - can you help?"])
    w.say(template.format(email), "identify", email=email)


def _task(w: _Writer, intent: str) -> None:
    rng = w.rng
    if intent == "order_status":
        phrase, oid = w.order_phrase(w.pick_order(typo_rate=0.08))
        text = rng.choice(["Where is {}?", "What's the status of {}", "track {} please"])
        w.say(text.format(phrase), intent, order=oid)
        if rng.random() < 0.3:
            _convert_last(w)
    elif intent == "delivery_estimate":
        wanted = "shipped" if rng.random() < 0.8 else None
        phrase, oid = w.order_phrase(w.pick_order(wanted, typo_rate=0.04))
        text = rng.choice(
            ["When will {} arrive?", "what's the delivery date for {}", "ETA for {}?"]
        )
        w.say(text.format(phrase), intent, order=oid)
    elif intent == "return_window":
        phrase, oid = w.order_phrase(w.pick_order("delivered", typo_rate=0.04))
        text = rng.choice(
            ["Can I still return {}?", "is {} still returnable", "return window for {}?"]
        )
        w.say(text.format(phrase), intent, order=oid)
    elif intent == "refund_quote":
        _refund(w)
    elif intent == "convert":
        _convert(w)
    elif intent == "list_orders":
        w.say(rng.choice(["show my orders", "What are my recent orders?", "order history"]), intent)
    elif intent == "weight":
        phrase, oid = w.order_phrase(w.pick_order())
        w.say(
            rng.choice(["How heavy is {}?", "what does {} weigh"]).format(phrase), intent, order=oid
        )
    elif intent == "cancel":
        phrase, oid = w.order_phrase(w.pick_order("processing" if rng.random() < 0.7 else None))
        w.say(f"Please cancel {phrase}", intent, order=oid)
        answer = rng.choice(["yes", "Yes please", "no", "no thanks"])
        w.say(answer, "confirm", answer=answer.split()[0].lower())
    else:
        w.say(rng.choice(["Do you sell gift cards?", "I love your shop", "ok thanks"]), "fallback")


def _refund(w: _Writer) -> None:
    rng = w.rng
    order_id = w.pick_order("delivered", typo_rate=0.12)
    order = w.shop.orders.get(order_id)
    phrase, oid = w.order_phrase(order_id)
    if order is not None and rng.random() < 0.5:
        line = rng.choice(order.lines)
        qty = rng.randint(1, line.quantity)
        text = f"If I return {qty} x {line.sku} from {phrase}, how much money do I get back?"
        w.say(text, "refund_quote", order=oid, lines={line.sku: qty})
    else:
        text = rng.choice(
            ["How much is the refund for {}?", "I want a refund for {}", "refund {} please"]
        )
        w.say(text.format(phrase), "refund_quote", order=oid, lines=None)
    if rng.random() < 0.4:
        _convert_last(w)


def _target(rng: random.Random) -> str:
    return rng.choice(UNSUPPORTED) if rng.random() < 0.25 else rng.choice(SUPPORTED[:4])


def _convert_last(w: _Writer) -> None:
    target = _target(w.rng)
    text = w.rng.choice(["What is that in {}?", "how much is that in {}", "and in {}?"])
    w.say(text.format(target.lower() if w.rng.random() < 0.5 else target), "convert", target=target)


def _convert(w: _Writer) -> None:
    rng = w.rng
    source = rng.choice(["USD", "USD", "USD", "EUR", "GBP"])
    target = _target(rng)
    if target == source:
        target = "USD"
    amount = (
        f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}"
        if rng.random() < 0.7
        else str(rng.randint(5, 400))
    )
    text = rng.choice(
        ["convert {} {} to {}", "Convert {} {} into {} please", "what is {} {} in {}?"]
    )
    w.say(
        text.format(amount, source, target), "convert", amount=amount, source=source, target=target
    )


def generate(sessions: int, seed: int = 7) -> list[Script]:
    """``sessions`` scripted conversations; the same arguments always give the same scripts."""
    rng = random.Random(seed)
    shop = load()
    intents, weights = zip(*TASKS.items(), strict=True)
    scripts: list[Script] = []
    for number in range(sessions):
        today = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        w = _Writer(rng, shop, today)
        if rng.random() < 0.6:
            w.say(rng.choice(["Hi", "Hello!", "hey there", "Good morning"]), "greeting")
        if rng.random() < 0.75:
            _identify(w)
        for intent in rng.choices(intents, weights, k=rng.randint(2, 5)):
            _task(w, intent)
        scripts.append(Script(f"s{seed}-{number:05d}", w.turns))
    return scripts
