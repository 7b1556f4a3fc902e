"""Inclusive range membership."""


def between(x, low, high):
    return low <= x < high
