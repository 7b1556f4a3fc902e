"""Thresholds: fixed share and regressions, from any shape of verification scores."""

from __future__ import annotations

import pytest

from theseus.config import GateSettings
from theseus.errors import TheseusError
from theseus.gate.thresholds import check_thresholds, summarise
from theseus.verify.score import Score

DEFAULT = GateSettings()


def test_full_fix_no_regressions_passes() -> None:
    d = check_thresholds({"fixed": 4, "total": 4, "regressions": 0}, DEFAULT)
    assert d.approved and d.summary is not None and d.summary.fixed_share == 1.0
    assert any("4/4" in r for r in d.reasons)


def test_partial_fix_below_share_fails_with_reason() -> None:
    d = check_thresholds({"replay_fixed": 2, "replay_total": 4, "regressions": []}, DEFAULT)
    assert not d.approved and "2/4 (50%), below the required 100%" in d.reasons[0]
    assert check_thresholds(
        {"replay_fixed": 2, "replay_total": 4}, GateSettings(min_fixed_share=0.5)
    ).approved


def test_regressions_and_new_failures_count() -> None:
    scores = {"fixed": 1, "total": 1, "regressions": ["t::a"], "new_failures": ["t::b"]}
    d = check_thresholds(scores, DEFAULT)
    assert not d.approved and "1 regression(s) and 1 new failing" in d.reasons[-1]
    assert check_thresholds(scores, GateSettings(max_regressions=2)).approved


def test_nothing_to_show_is_refused() -> None:
    assert not check_thresholds({"fixed": 0, "total": 0}, DEFAULT).approved
    assert not check_thresholds(
        {"fixed": 0, "total": 3}, GateSettings(min_fixed_share=0.0)
    ).approved


def test_reads_the_verify_score_model() -> None:
    score = Score(replay_fixed=3, replay_total=3, tests_passed=5, regressions=[])
    summary = summarise(score)
    assert (summary.fixed, summary.total, summary.regressions, summary.tests_passed) == (3, 3, 0, 5)
    assert check_thresholds(score, DEFAULT).approved


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({"total": 3}, "no 'fixed'"),
        ({"fixed": 3}, "no 'total'"),
        ({"fixed": 4, "total": 3}, "cannot be"),
        ({"fixed": -1, "total": 3}, "must not be negative"),
        ({"fixed": True, "total": 3}, "must be a number"),
        ({"fixed": "3", "total": 3}, "count or a list"),
    ],
)
def test_bad_scores_are_one_line_errors(scores: dict[str, object], message: str) -> None:
    with pytest.raises(TheseusError, match=message):
        check_thresholds(scores, DEFAULT)
