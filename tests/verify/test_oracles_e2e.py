"""Right, not just plausible: real evidence, real sandbox, candidates judged by their oracles.

A small travel agent records real calls (through ``@theseus.task`` in a subprocess, as in
production): quotes for enrolled customers succeed, a customer never enrolled in loyalty
crashes with ``KeyError`` in ``points(customer) -> int``. Verification must reject the
"fix" that returns ``''`` from ``points`` (the wrong type: it was promoted before), reject one
that turns the reply into a string (the wrong shape), accept the right one, and catch a
candidate fitted to the wrong-answer cases it was shown but not to the held-out ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from theseus.change.candidate import Candidate
from theseus.config import load_settings
from theseus.evidence.curator import curate
from theseus.evidence.expectations import make_report
from theseus.evidence.store import EvidenceStore
from theseus.evolve.batches import current_batches
from theseus.evolve.proposals import shown_to_proposers
from theseus.verify.pipeline import verify_candidate

pytestmark = pytest.mark.e2e

TOML = """\
[agent]
name = "travel"
package = "travel"
entrypoint = "travel.app:handle"

[paths]
mutable = ["travel/*.py"]
protected = ["tests/*.py"]

[tests]
command = "python -m pytest -q -p no:cacheprovider tests"
timeout = 120

[replay]
case_timeout = 5
holdout_share = 0.4
holdout_min_cases = 4
"""

FILES = {
    "travel/__init__.py": "",
    "travel/app.py": '''\
import theseus

from travel import pricing


@theseus.task
def handle(message, state):
    if message["type"] == "quote":
        total = pricing.quote(message["customer"], message["nights"])
        return {"type": "quote", "total": total, "currency": "EUR"}
    if message["type"] == "nights":
        return {"type": "nights", "nights": pricing.nights_for(message["budget"])}
    if message["type"] == "refund":
        return {"type": "refund", "amount": pricing.refund(message["paid"])}
    return {"type": "error", "text": "unknown request"}
''',
    "travel/pricing.py": '''\
LOYALTY = {"ada": 120, "bo": 40, "cy": 300}
RATE = 80


def points(customer: str) -> int:
    return LOYALTY[customer]


def discount(customer: str) -> float:
    earned = points(customer)
    return min(earned, 200) / 10 if earned else 0.0


def quote(customer: str, nights: int) -> float:
    return nights * RATE - discount(customer)


def nights_for(budget: int) -> int:
    return budget // RATE + 1


def refund(paid: float) -> float:
    return paid + FEE


FEE = 15
''',
    "tests/test_pricing.py": """\
from travel import pricing


def test_quote_for_an_enrolled_customer():
    assert pricing.quote("ada", 2) == 148.0
""",
}

RECORD = """
import sys
from travel.app import handle
messages = [
    {"type": "quote", "customer": "ada", "nights": 2},
    {"type": "quote", "customer": "bo", "nights": 1},
    {"type": "quote", "customer": "cy", "nights": 3},
    {"type": "quote", "customer": "ada", "nights": 5},
    {"type": "quote", "customer": "dee", "nights": 2},
    {"type": "quote", "customer": "eve", "nights": 4},
] + [{"type": "nights", "budget": b} for b in (80, 160, 240, 400, 560)]
messages += [{"type": "refund", "paid": p} for p in (100, 250, 40)]
for message in messages:
    try:
        handle(message, {})
    except Exception:
        pass
"""


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def travel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("oracles") / "travel"
    root.mkdir()
    (root / "theseus.toml").write_text(TOML)
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / ".gitignore").write_text(".theseus/\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", RECORD], cwd=root, env=env, check=True)
    settings = load_settings(root)
    with EvidenceStore(settings.evidence_path) as store:
        for task in store.tasks():
            message = task.input["args"][0]
            if message["type"] == "nights":  # nights_for is off by one: wrong answers
                right: dict[str, Any] = {"type": "nights", "nights": message["budget"] // 80}
            elif message["type"] == "refund":  # the fee is added, not taken off
                right = {"type": "refund", "amount": message["paid"] - 15}
            else:
                continue
            store.add_report(make_report(task.id, expected=right, task=task))
    return root


def _batches(root: Path) -> dict[str, Any]:
    """The batches by kind; wrong answers by the function their path diverged into."""
    found: dict[str, Any] = {}
    for batch in current_batches(load_settings(root)):
        if batch.kind == "exception":
            found["exception"] = batch
        else:
            found[batch.title.rpartition("travel/pricing.py:")[2]] = batch
    return found


def _diff(root: Path, path: str, old: str, new: str) -> str:
    target = root / path
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new, 1))
    try:
        return _git(root, "diff")
    finally:
        _git(root, "checkout", "--", ".")


def _verify(root: Path, batch: Any, diff: str, settings: Any = None) -> Any:
    head = _git(root, "rev-parse", "HEAD").strip()
    candidate = Candidate.create(base_commit=head, diff=diff, proposer="test")
    return verify_candidate(candidate, batch, settings or load_settings(root), root)


POINTS = "    return LOYALTY[customer]\n"


def test_the_crash_cases_demand_the_annotated_type_and_the_reply_shape(travel: Path) -> None:
    crash = _batches(travel)["exception"]
    assert crash.title.startswith("KeyError in travel/pricing.py:points")
    oracle = crash.cases[0].oracle
    assert oracle.kind == "no_raise"
    assert "travel/pricing.py:points" in oracle.typed_frames
    assert oracle.reply_schema is not None  # from the quotes that succeeded


def test_a_crash_fix_that_returns_the_wrong_type_is_rejected(travel: Path) -> None:
    crash = _batches(travel)["exception"]
    wrong = _diff(travel, "travel/pricing.py", POINTS, "    return LOYALTY.get(customer, '')\n")
    result = _verify(travel, crash, wrong)
    assert result.status == "failed", result.reason
    problems = list(result.score.case_problems.values())
    assert problems and all(p.startswith("wrong_type: travel/pricing.py:points") for p in problems)
    assert "annotated -> int" in problems[0]

    right = _diff(travel, "travel/pricing.py", POINTS, "    return LOYALTY.get(customer, 0)\n")
    result = _verify(travel, crash, right)
    assert result.status == "verified", result.reason


def test_without_the_type_check_the_wrong_type_would_have_passed(travel: Path) -> None:
    crash = _batches(travel)["exception"]
    settings = load_settings(travel)
    unchecked = settings.model_copy(
        update={"replay": settings.replay.model_copy(update={"type_check": False})}
    )
    with EvidenceStore(unchecked.evidence_path) as store:
        crash = next(b for b in curate(store, unchecked) if b.kind == "exception")
    assert crash.cases[0].oracle.typed_frames == []
    wrong = _diff(travel, "travel/pricing.py", POINTS, "    return LOYALTY.get(customer, '')\n")
    assert _verify(travel, crash, wrong, unchecked).status == "verified"


def test_a_crash_fix_that_changes_the_reply_shape_is_rejected(travel: Path) -> None:
    crash = _batches(travel)["exception"]
    wrong = _diff(
        travel,
        "travel/app.py",
        '        total = pricing.quote(message["customer"], message["nights"])\n',
        '        if message["customer"] not in pricing.LOYALTY:\n'
        '            return "sorry, no quote"\n'
        '        total = pricing.quote(message["customer"], message["nights"])\n',
    )
    result = _verify(travel, crash, wrong)
    assert result.status == "failed"
    problems = list(result.score.case_problems.values())
    assert problems and all(p.startswith("wrong_shape:") for p in problems), problems


def test_the_held_out_cases_catch_a_fix_fitted_to_the_cases_it_was_shown(travel: Path) -> None:
    wrong = _batches(travel)["nights_for"]
    assert len(wrong.cases) == 5 and len(wrong.holdout) == 2
    shown = shown_to_proposers(wrong)
    assert {c.task_id for c in shown.cases}.isdisjoint(wrong.holdout)
    assert not set(shown.task_ids) & set(wrong.holdout)
    special = "\n".join(
        f"    if budget == {c.input['args'][0]['budget']}:\n"
        f"        return {c.oracle.expected['nights']}"
        for c in shown.cases
    )
    overfit = _diff(
        travel,
        "travel/pricing.py",
        "    return budget // RATE + 1\n",
        special + "\n    return budget // RATE + 1\n",
    )
    result = _verify(travel, wrong, overfit)
    assert result.status == "failed"
    assert result.score.holdout_total == 2 and result.score.holdout_fixed == 0
    assert "held out (overfitted)" in result.reason

    right = _diff(travel, "travel/pricing.py", "budget // RATE + 1", "budget // RATE")
    result = _verify(travel, wrong, right)
    assert result.status == "verified", result.reason
    assert (result.score.holdout_fixed, result.score.holdout_total) == (2, 2)
    assert "(2/2 held out)" in result.reason


def test_reports_that_can_never_match_are_refused_with_one_line(travel: Path) -> None:
    from theseus.errors import EvidenceError

    settings = load_settings(travel)
    with EvidenceStore(settings.evidence_path) as store:
        quote = next(t for t in store.tasks() if t.error is None and t.output["type"] == "quote")
    with pytest.raises(EvidenceError) as refused:
        make_report(quote.id, expected={"total": 1.0}, task=quote)
    assert "theseus.partial" in refused.value.line() and "\n" not in refused.value.line()
    with pytest.raises(EvidenceError, match="matches what the task returned"):
        make_report(quote.id, expected=quote.output, task=quote)
    report = make_report(
        quote.id, expected={"$theseus": "partial", "value": {"total": 1.0}}, task=quote
    )
    assert json.dumps(report.expected)


def test_two_bugs_behind_one_entrypoint_land_in_two_signatures(travel: Path) -> None:
    batches = _batches(travel)
    nights, refund = batches["nights_for"], batches["refund"]
    assert nights.signature != refund.signature
    assert nights.title == "wrong_answer from travel.app:handle via travel/pricing.py:nights_for"
    assert (len(nights.cases), len(refund.cases)) == (5, 3)
    # without the execution paths they were one batch no single change could fix
    settings = load_settings(travel)
    with EvidenceStore(settings.evidence_path) as store:
        unsplit = [b for b in curate(store, settings) if b.kind == "semantic"]
    assert len(unsplit) == 1 and len(unsplit[0].cases) == 8
    # the split is computed once per version of the code, and comes out the same again
    cache = list((travel / ".theseus" / "fingerprints").glob("*.json"))
    assert len(cache) == 1
    again = _batches(travel)
    assert again["refund"].signature == refund.signature
