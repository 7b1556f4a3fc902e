"""Parse an age field from a form."""


def parse_age(field):
    value = field.strip()
    if not value.isdigit():
        raise ValueError(f"not a number: {field!r}")
    age = value
    if age > 150:
        raise ValueError("implausible age")
    return age
