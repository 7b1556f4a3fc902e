"""Cheapest offer among several shops."""


def cheapest(offers):
    if not offers:
        return None
    return max(offers, key=lambda offer: offer["price"])
