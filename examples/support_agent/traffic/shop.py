"""The traffic's own read-only view of the shop data (seed.sql), independent of the agent.

The oracle must not trust the agent's code to tell it what is right, so it loads the same
seed file into its own database and answers from there.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

SEED = Path(__file__).resolve().parent.parent / "support_agent" / "data" / "seed.sql"


@dataclass(frozen=True)
class Line:
    sku: str
    category: str
    price: int
    weight: int
    quantity: int
    opened: bool


@dataclass(frozen=True)
class ShopOrder:
    id: int
    customer: int
    ordered: date
    shipped: date | None
    delivered: date | None
    status: str
    method: str
    shipping: int
    lines: tuple[Line, ...]

    @property
    def total(self) -> int:
        return sum(line.price * line.quantity for line in self.lines) + self.shipping


@dataclass(frozen=True)
class Shop:
    customers: dict[int, tuple[str, str]]  # id -> (name, email)
    orders: dict[int, ShopOrder]

    def by_email(self, email: str) -> int | None:
        for cid, (_, mail) in self.customers.items():
            if mail == email.lower():
                return cid
        return None

    def orders_of(self, customer: int) -> list[ShopOrder]:
        return [o for o in self.orders.values() if o.customer == customer]


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


@cache
def load() -> Shop:
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(SEED.read_text(encoding="utf-8"))
        customers = {
            cid: (name, email) for cid, name, email in db.execute("SELECT * FROM customers")
        }
        lines: dict[int, list[Line]] = {}
        for oid, sku, cat, price, weight, qty, opened in db.execute(
            "SELECT i.order_id, p.sku, p.category, p.price_cents, p.weight_g, i.quantity, i.opened"
            " FROM order_items i JOIN products p USING (sku) ORDER BY p.sku"
        ):
            lines.setdefault(oid, []).append(Line(sku, cat, price, weight, qty, bool(opened)))
        orders = {
            oid: ShopOrder(
                oid,
                cid,
                date.fromisoformat(ordered),
                _day(shipped),
                _day(delivered),
                status,
                method,
                shipping,
                tuple(lines.get(oid, [])),
            )
            for oid, cid, ordered, shipped, delivered, status, method, shipping in db.execute(
                "SELECT * FROM orders"
            )
        }
    finally:
        db.close()
    return Shop(customers, orders)
