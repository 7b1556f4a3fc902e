"""Checks of a model endpoint's URL and of a price table, shared by config and the clients.

Config validation rejects a malformed ``[propose.llm] base_url`` or ``prices`` when the file
is read; the model clients check the same things again when a client is made from settings
built in code. Both ask this module, which knows nothing of either, so config never has to
import the stage that uses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from urllib.parse import urlsplit

from theseus.errors import TheseusError

__all__ = ["PRICE_KEYS", "base_url_problem", "check_prices", "endpoint_label"]

PRICE_KEYS = ("input", "output")


def check_prices(prices: Mapping[str, float]) -> None:
    """Raise :class:`TheseusError` unless ``prices`` is a valid price table.

    Only ``input`` and ``output`` are known; each must be a finite number >= 0. An empty
    table is valid (calls then cost $0, tokens are still counted).
    """
    unknown = sorted(set(prices) - set(PRICE_KEYS))
    if unknown:
        raise TheseusError(
            f"[propose.llm] prices has unknown key(s): {', '.join(unknown)}",
            hint="use only 'input' and 'output', in USD per million tokens",
        )
    for key, value in prices.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TheseusError(
                f"[propose.llm] prices.{key} is not a number",
                hint="write USD per million tokens, e.g. prices = {input = 0.15, output = 0.6}",
            )
        if not math.isfinite(value) or value < 0:
            raise TheseusError(
                f"[propose.llm] prices.{key} = {value} is not a price",
                hint="use a finite number >= 0 (USD per million tokens)",
            )


def endpoint_label(url: str) -> str:
    """``url`` fit to show a person: no user:password, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number: show none rather than fail
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}" if parts.scheme else url


BASE_URL_HINT = "use the API root, e.g. http://localhost:11434/v1 or https://api.openai.com/v1"


def base_url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as a model endpoint, as the end of a sentence that starts
    with the (secret-free) URL, or None when it is an absolute http(s) URL with a host."""
    parts = urlsplit(url.strip())
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or above 65535
        port_ok = False
    problem = None
    if parts.scheme not in ("http", "https"):
        problem = "does not start with http:// or https://"
    elif not parts.hostname:
        problem = "has no host"
    elif not port_ok:
        problem = "has an invalid port"
    elif parts.query or parts.fragment:
        problem = "has a query or fragment"
    if problem is None:
        return None
    # Shown without user:password or query, which may hold secrets; not at all when the
    # scheme is wrong (then nothing can be told apart from a pasted key).
    shown = f" {endpoint_label(url)}" if parts.scheme in ("http", "https") else ""
    return f"[propose.llm] base_url{shown} {problem}"
