"""Merge user settings over defaults."""

DEFAULTS = {"theme": "light", "size": 12}


def merged(user, defaults=DEFAULTS):
    result = dict(user)
    result.update(defaults)
    return result
