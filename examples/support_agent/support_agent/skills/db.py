"""The shop's data: an in-memory SQLite database built from the shipped seed.sql.

In memory so the agent is deterministic and never writes a file; one connection per thread
because sqlite3 connections must not be shared between threads without a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

SEED = Path(__file__).resolve().parent.parent / "data" / "seed.sql"
_local = threading.local()


@dataclass(frozen=True)
class Customer:
    id: int
    name: str
    email: str


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    category: str
    price_cents: int
    weight_g: int
    quantity: int
    opened: bool


@dataclass(frozen=True)
class Order:
    id: int
    customer_id: int
    ordered_on: date
    shipped_on: date | None
    delivered_on: date | None
    status: str
    method: str
    shipping_cents: int
    items: tuple[Item, ...]

    @property
    def items_cents(self) -> int:
        return sum(item.price_cents * item.quantity for item in self.items)

    @property
    def total_cents(self) -> int:
        return self.items_cents + self.shipping_cents


def connection() -> sqlite3.Connection:
    """This thread's connection to the seeded in-memory database."""
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        conn.executescript(SEED.read_text(encoding="utf-8"))
        _local.conn = conn
    return conn


def customer_by_id(customer_id: int) -> Customer | None:
    row = (
        connection()
        .execute("SELECT id, name, email FROM customers WHERE id = ?", (customer_id,))
        .fetchone()
    )
    return Customer(*row) if row else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def find_customer(email: str) -> Customer | None:
    row = (
        connection()
        .execute("SELECT id, name, email FROM customers WHERE email = ?", (email.lower(),))
        .fetchone()
    )
    return Customer(*row) if row else None


def find_order(order_id: int) -> Order | None:
    """The order with its items, or None when no order has that id."""
    conn = connection()
    row = conn.execute(
        "SELECT id, customer_id, ordered_on, shipped_on, delivered_on, status, method,"
        " shipping_cents FROM orders WHERE id = ?",
        (order_id,),
    ).fetchone()
    if row is None:
        return None
    items = tuple(
        Item(sku, name, category, price, weight, quantity, bool(opened))
        for sku, name, category, price, weight, quantity, opened in conn.execute(
            "SELECT p.sku, p.name, p.category, p.price_cents, p.weight_g, i.quantity, i.opened"
            " FROM order_items i JOIN products p ON p.sku = i.sku"
            " WHERE i.order_id = ? ORDER BY p.sku",
            (order_id,),
        )
    )
    ordered_on = date.fromisoformat(row[2])
    return Order(
        row[0], row[1], ordered_on, _day(row[3]), _day(row[4]), row[5], row[6], row[7], items
    )


def orders_of(customer_id: int) -> list[Order]:
    """All orders of a customer, oldest id first."""
    ids = connection().execute(
        "SELECT id FROM orders WHERE customer_id = ? ORDER BY id", (customer_id,)
    )
    found = [find_order(order_id) for (order_id,) in ids.fetchall()]
    return [order for order in found if order is not None]
