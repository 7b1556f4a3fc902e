"""Normalise a person's name."""


def normalize(name):
    cleaned = " ".join(name.split())
    titled = cleaned.title()
    return cleaned
