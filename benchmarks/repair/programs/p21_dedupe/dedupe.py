"""Remove duplicates, keeping the first occurrence."""


def dedupe(items):
    seen = set()
    out = []
    for item in items:
        if item in seen:
            seen.add(item)
            out.append(item)
    return out
