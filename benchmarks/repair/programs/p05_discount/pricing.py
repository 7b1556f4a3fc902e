"""Apply a percentage discount to a price."""


def discounted(price, percent):
    if percent < 0 or percent > 100:
        raise ValueError("percent out of range")
    return price * (1 + percent / 100)
