"""The example agent's seeded bugs as repair tasks, the way the Theseus flow sees them.

The agent's own suite passes with every seeded bug in place (that is the point of them);
in the flow, the failing cases come from evidence replay: recorded inputs plus the reply
that was due. Here the same is built offline: for each bug a probe (a skill called over
the shop's orders, customers, days or currencies) is run on the reference-fixed agent to
record the due outputs, and written as a pytest file. Even-numbered probe inputs form the
test the engine sees; odd-numbered ones are held out to judge the fix.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

AGENT = Path(__file__).resolve().parents[2] / "examples" / "support_agent"
PRELUDE = """\
from datetime import date, timedelta
from decimal import Decimal
from support_agent.skills import dates, db, orders, refunds, units
ORDERS = [r[0] for r in db.connection().execute("select id from orders order by id")]
CUSTOMERS = [r[0] for r in db.connection().execute("select id from customers order by id")]
EMAILS = [r[0] for r in db.connection().execute("select email from customers order by id")]
CURRENCIES = ["USD", "EUR", "CAD", "JPY", "AUD", "GBP"]
"""
PROBES: dict[str, tuple[str, str]] = {  # bug id -> (items, call on one item)
    "refund-fee-sign": ("ORDERS", "lambda o: refunds.quote_refund(o)"),
    "saturday-business-day": (
        "[date(2024, 6, 1) + timedelta(days=d) for d in range(40)]",
        "lambda d: dates.add_business_days(d, 3)",
    ),
    "refund-unknown-order": (
        "ORDERS[:6] + [4242, 17, 9999, 5, 31337, 2]",
        "lambda o: refunds.quote_refund(o)",
    ),
    "identify-no-orders": ("EMAILS", "lambda e: orders.identify(e, {})"),
    "return-window-from-order-date": (
        "[(date(2024, m, 3), date(2024, m, 3 + k)) for m in (2, 5, 8) for k in (1, 4, 9)]",
        "lambda p: dates.return_deadline(*p)",
    ),
    "recent-orders-truncated-first": (
        "CUSTOMERS",
        "lambda c: [o.id for o in orders.recent_orders(c)]",
    ),
    "currency-guard-and": (
        "[(s, t) for s in CURRENCIES for t in CURRENCIES]",
        "lambda p: units.convert(Decimal('10'), *p)",
    ),
}
RECORD = (
    PRELUDE
    + """
import json, sys
items = {items}
call = {call}
out = []
for item in items:
    try:
        out.append(repr(call(item)))
    except Exception as exc:
        out.append("raises " + type(exc).__name__)
print(json.dumps(out))
"""
)
TEST = (
    PRELUDE
    + """
import pytest
ITEMS = {items}
CALL = {call}
EXPECTED = {expected!r}


def _outcome(item):
    try:
        return repr(CALL(item))
    except Exception as exc:
        return "raises " + type(exc).__name__


@pytest.mark.parametrize("index", {indexes!r})
def test_replay(index):
    assert _outcome(ITEMS[index]) == EXPECTED[index]
"""
)


def load_bugs() -> list[dict[str, Any]]:
    bugs: list[dict[str, Any]] = json.loads((AGENT / "seeded_bugs.json").read_text())
    return [b for b in bugs if b["id"] in PROBES]


def _fix(folder: Path, bug: dict[str, Any]) -> None:
    path = folder / bug["file"]
    path.write_text(path.read_text().replace(bug["original"], bug["fixed"], 1))


def prepare(bug: dict[str, Any], env: dict[str, str]) -> tuple[Path, str, str]:
    """A copy of the agent with only ``bug`` left, plus the given and held-out test files'
    texts (recorded on a copy with every bug fixed)."""
    work = Path(tempfile.mkdtemp(prefix="seeded-")) / "agent"
    shutil.copytree(AGENT, work, ignore=shutil.ignore_patterns("__pycache__", ".theseus"))
    bugs = json.loads((AGENT / "seeded_bugs.json").read_text())
    for other in bugs:
        if other["id"] != bug["id"]:
            _fix(work, other)
    items, call = PROBES[bug["id"]]
    fixed = work.parent / "fixed"
    shutil.copytree(work, fixed)
    _fix(fixed, bug)
    script = RECORD.format(items=items, call=call)
    done = subprocess.run(
        ["python", "-c", script], cwd=fixed, env=env, capture_output=True, text=True, check=True
    )
    expected = json.loads(done.stdout)
    shutil.rmtree(fixed)
    given = TEST.format(
        items=items, call=call, expected=expected, indexes=list(range(0, len(expected), 2))
    )
    held = TEST.format(
        items=items, call=call, expected=expected, indexes=list(range(1, len(expected), 2))
    )
    return work, given, held


def mutable_globs() -> list[str]:
    import tomllib

    config = tomllib.loads((AGENT / "theseus.toml").read_text())
    return list(config["paths"]["mutable"])
