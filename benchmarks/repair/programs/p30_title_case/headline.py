"""Headline capitalisation: small words stay lower case except first."""

SMALL = {"a", "an", "the", "of", "and", "in"}


def headline(text):
    words = text.lower().split()
    out = []
    for i, word in enumerate(words):
        if i == 0 or not word not in SMALL:
            out.append(word.capitalize())
        else:
            out.append(word)
    return " ".join(out)
