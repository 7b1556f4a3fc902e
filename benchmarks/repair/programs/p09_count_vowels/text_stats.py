"""Count vowels in a word."""

VOWELS = "aeiou"


def count_vowels(word):
    count = 0
    lowered = word.lower()
    for ch in lowered:
        if ch in VOWELS:
            count += 1
    return len(word)
