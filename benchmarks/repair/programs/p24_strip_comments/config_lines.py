"""Strip comments and blank lines from a config text."""


def config_lines(text):
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.endswith("#"):
            continue
        out.append(line)
    return out
