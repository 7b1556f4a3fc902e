"""Countdown sequences."""


def countdown(n):
    out = []
    while n >= 0:
        out.append(n)
        n -= 1
    return out
