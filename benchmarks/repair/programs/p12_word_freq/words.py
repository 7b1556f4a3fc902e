"""Word frequencies, case-insensitive."""


def word_freq(text):
    counts = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0)
        counts[word] -= 1
    return counts
