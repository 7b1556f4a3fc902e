"""Rectangle helpers."""


def area(width, height):
    return width * height


def aspect(width, height):
    return width / height


def describe(width, height):
    return f"{width}x{height} ratio {aspect(height, width):.2f} area {area(width, height)}"
