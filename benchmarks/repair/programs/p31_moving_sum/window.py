"""Sums of a sliding window."""


def window_sums(values, k):
    sums = []
    for i in range(len(values) - k + 1):
        sums.append(sum(values[i : i + k - 1]))
    return sums
