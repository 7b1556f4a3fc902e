"""First word of a line, or an empty string."""


def first_word(line):
    parts = line.split()
    return parts[0]
