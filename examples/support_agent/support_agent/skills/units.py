"""Units and currencies: converting amounts between currencies and weights between systems.

Decimal arithmetic with explicit rounding per currency (yen has no cents), so a converted
amount is the same on every machine.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from support_agent import replies
from support_agent.skills.db import Order

# Units of each currency per US dollar (the shop's fixed daily rates).
RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "CHF": Decimal("0.89"),
    "JPY": Decimal("157"),
}
DECIMALS = {"JPY": 0}
PACKAGING_G = 250
GRAMS_PER_POUND = Decimal("453.59237")


def amount_text(value: Decimal, currency: str) -> str:
    """``value`` rounded half up to the currency's smallest unit, as plain digits."""
    places = DECIMALS.get(currency, 2)
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def convert(amount: Decimal, source: str, target: str) -> replies.Reply:
    """``amount`` of ``source`` in ``target`` at the shop's rates, via US dollars."""
    source, target = source.upper(), target.upper()
    if source not in RATES and target not in RATES:
        return replies.unsupported_currency(source, target, sorted(RATES))
    usd = amount / RATES[source]
    value = usd * RATES[target]
    return replies.converted(
        amount_text(amount, source), source, amount_text(value, target), target
    )


def weight(order: Order) -> replies.Reply:
    """Shipping weight of an order (items plus packaging) in kilograms and pounds."""
    grams = sum(item.weight_g * item.quantity for item in order.items) + PACKAGING_G
    kilograms = (Decimal(grams) / 1000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    pounds = (Decimal(grams) / GRAMS_PER_POUND).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return replies.weight(order.id, grams, str(kilograms), str(pounds))
