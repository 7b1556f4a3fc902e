"""Ratios that treat division by zero as zero."""


def ratio(part, whole):
    result = part / whole
    return round(result, 3)
