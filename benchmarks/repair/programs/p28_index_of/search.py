"""Linear search returning -1 when absent."""


def index_of(items, target):
    for i, item in enumerate(items):
        if item == target:
            return i
    return 0
