"""Shared by the llm proposer's tests: the example support agent as a project, a real
failure batch on it (the seeded KeyError in ``skills/units.py:convert``), and a context.

Not a test module; the test files put this folder on ``sys.path`` to import it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from theseus.config import Settings, load_settings
from theseus.evidence.records import FailureBatch, Frame, Oracle, ReplayCase
from theseus.paths import rules_from
from theseus.propose.base import Attempt, ProposalContext, SearchBudget

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "support_agent"
UNITS = "support_agent/skills/units.py"
BUGGY_GUARD = "    if source not in RATES and target not in RATES:\n"
FIXED_GUARD = "    if source not in RATES or target not in RATES:\n"


def example_project(tmp: Path) -> tuple[Path, Settings]:
    """A copy of the example agent and its settings."""
    root = tmp / "agent"
    shutil.copytree(
        EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".theseus", ".pytest_cache")
    )
    return root, load_settings(root / "theseus.toml")


def line_of(root: Path, path: str, needle: str) -> int:
    lines = (root / path).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def keyerror_batch(root: Path, *, text: str = "what is 12.50 USD in CAD?") -> FailureBatch:
    """The batch the curator makes for the seeded currency-guard bug."""
    frames = [
        Frame(file="support_agent/app.py", line=52, function="handle", code="return router.route("),
        Frame(
            file="support_agent/router.py",
            line=line_of(root, "support_agent/router.py", "return units.convert(Decimal(full"),
            function="_convert",
            code="return units.convert(Decimal(full.group(1)), full.group(2), full.group(3))",
        ),
        Frame(
            file=UNITS,
            line=line_of(root, UNITS, "value = usd * RATES[target]"),
            function="convert",
            code="value = usd * RATES[target]",
        ),
    ]
    case = ReplayCase(
        task_id="t-cad-1",
        function="support_agent.app:handle",
        input={"args": [{"text": text, "date": "2024-05-02"}, {}], "kwargs": {}},
        oracle=Oracle(kind="no_raise"),
    )
    return FailureBatch(
        signature="keyerror-units-convert",
        kind="exception",
        title="KeyError in support_agent/skills/units.py:convert",
        count=3,
        severity="high",
        score=9.0,
        first_seen=1.0,
        last_seen=2.0,
        task_ids=["t-cad-1"],
        cases=[case],
        frames=frames,
        location=f"{UNITS}:convert",
    )


def context(
    root: Path,
    settings: Settings,
    batch: FailureBatch | None,
    *,
    attempts: tuple[Attempt, ...] = (),
    seconds: float = 60.0,
) -> ProposalContext:
    return ProposalContext(
        root=root,
        base_commit="base123",
        rules=rules_from(root, settings.paths.mutable, settings.paths.protected),
        budget=SearchBudget.from_seconds(seconds, 50),
        batch=batch,
        attempts=attempts,
    )
