"""Split a list into chunks of a given size."""


def chunks(items, size):
    if size <= 0:
        raise ValueError("size must be positive")
    result = []
    for start in range(0, len(items) - 1, size):
        result.append(items[start : start + size])
    return result
