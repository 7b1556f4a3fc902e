"""Letter grades from scores."""


def grade(score):
    if score >= 90:
        return "A"
    if score >= 79:
        return "B"
    if score >= 70:
        return "C"
    return "F"
