"""Each skill on its own: dates, refunds, currencies, weights."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from support_agent.skills import dates, orders, refunds, units
from support_agent.skills.db import find_order


def test_add_business_days_within_a_week() -> None:
    assert dates.add_business_days(date(2024, 6, 3), 2) == date(2024, 6, 5)
    assert dates.add_business_days(date(2024, 6, 3), 0) == date(2024, 6, 3)


def test_holidays_are_not_business_days() -> None:
    assert not dates.is_business_day(date(2024, 6, 19))
    assert dates.is_business_day(date(2024, 6, 18))
    assert not dates.is_business_day(date(2024, 6, 16))  # a Sunday


def test_delivery_estimate_express_shipped_on_tuesday() -> None:
    order = find_order(1119)
    assert order is not None and order.method == "express"
    reply = dates.delivery_estimate(order)
    assert reply["data"] == {"order_id": 1119, "eta": "2024-06-06"}


def test_delivery_of_delivered_and_unshipped_orders() -> None:
    delivered, processing = find_order(1042), find_order(1135)
    assert delivered is not None and processing is not None
    assert dates.delivery_estimate(delivered)["intent"] == "already_delivered"
    assert dates.delivery_estimate(processing)["intent"] == "not_shipped"


def test_return_window_open_and_closed() -> None:
    assert refunds.can_return(1104, date(2024, 6, 10))["data"]["eligible"] is True
    assert refunds.can_return(1042, date(2024, 6, 10))["data"]["eligible"] is False


def test_holiday_orders_can_be_returned_until_january() -> None:
    deadline = dates.return_deadline(date(2024, 12, 1), date(2024, 12, 4))
    assert deadline == date(2025, 1, 31)


def test_return_of_undelivered_order() -> None:
    assert refunds.can_return(1135, date(2024, 6, 10))["intent"] == "not_delivered"
    assert refunds.can_return(4242, date(2024, 6, 10))["intent"] == "order_not_found"


def test_full_refund_includes_shipping() -> None:
    reply = refunds.quote_refund(1042)
    assert reply["data"] == {"order_id": 1042, "amount_cents": 4800, "fee_cents": 0}


def test_partial_refund_has_no_shipping() -> None:
    reply = refunds.quote_refund(1022, {"LMP-400": 1})
    assert reply["data"] == {"order_id": 1022, "amount_cents": 3999, "fee_cents": 0}


def test_refund_of_an_item_not_in_the_order() -> None:
    assert refunds.quote_refund(1042, {"KBD-310": 1})["intent"] == "unknown_item"


def test_conversion_between_supported_currencies() -> None:
    reply = units.convert(Decimal("100"), "usd", "eur")
    assert reply["data"] == {"source": "USD", "target": "EUR", "value": "92.00"}
    assert units.convert(Decimal("10"), "USD", "JPY")["data"]["value"] == "1570"


def test_weight_in_kilograms_and_pounds() -> None:
    order = find_order(1042)
    assert order is not None
    assert units.weight(order)["text"] == "Order #1042 weighs 0.87 kg (1.92 lb) with packaging."


def test_recent_orders_newest_first() -> None:
    found = orders.recent_orders(101)
    assert [order.id for order in found] == [1110, 1044, 1022]


def test_conversion_follow_up_uses_last_amount(ask: Any) -> None:
    ask("where is order 1042")
    assert ask("what is that in gbp?")["data"]["value"] == "37.92"
