"""The last n entries of a history."""


def last_n(entries, n):
    if n <= 0:
        return []
    return entries[-n + 1 :]
