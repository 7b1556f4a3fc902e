"""Average of a list of scores, 0.0 for none."""


def average(scores):
    total = sum(scores)
    return total / len(scores)
