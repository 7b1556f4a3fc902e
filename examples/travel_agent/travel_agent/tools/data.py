"""The bundled travel data (``travel_agent/data/*.json``), loaded once, read-only.

Each file is ``{"about": "...", "rows": [...]}``; the rows are indexed by their key here so the
tools read plain dicts. Amounts are integers of EUR cents throughout.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data"
Row = dict[str, Any]


@cache
def table(name: str) -> dict[str, Any]:
    """The whole file ``data/{name}.json``."""
    loaded: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def rows(name: str) -> list[Row]:
    found: list[Row] = table(name)["rows"]
    return found


def by_key(name: str, key: str) -> dict[str, Row]:
    """The rows of ``data/{name}.json`` by their ``key`` column."""
    return {row[key]: row for row in rows(name)}
