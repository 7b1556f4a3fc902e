"""Flatten one level of nesting."""


def flatten(lists):
    out = []
    for sub in lists:
        out.append(sub)
    return out
