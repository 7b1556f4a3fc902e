"""Scoring a candidate's outcomes against the base's (pure: no sandbox needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from theseus.config import Settings, parse_settings
from theseus.verify.score import compute_score
from theseus.verify.testrun import CheckResult, CheckRun

R1, R2 = (
    ".theseus_replay/test_replay_x.py::test_case[t1]",
    ".theseus_replay/test_replay_x.py::test_case[t2]",
)
NODES = {R1: "t1", R2: "t2"}


def settings(tmp_path: Path, **gate: Any) -> Settings:
    return parse_settings(
        {
            "agent": {"package": "a", "entrypoint": "a:h"},
            "paths": {"mutable": ["a/*.py"]},
            "gate": gate,
        },
        root=tmp_path,
    )


def run(outcomes: dict[str, str], **more: Any) -> CheckRun:
    checks = {k: CheckResult(id=k, outcome=v) for k, v in outcomes.items()}  # type: ignore[arg-type]
    return CheckRun(checks=checks, returncode=0, finished=True, backend="bwrap", **more)


BASE = {R1: "failed", R2: "failed", "t::a": "passed", "t::b": "passed", "t::old": "failed"}


def test_a_full_fix_without_regressions_passes(tmp_path: Path) -> None:
    score = compute_score(
        replay=run({R1: "passed", R2: "passed"}),
        node_to_task=NODES,
        unreplayable=0,
        tests=run({"t::a": "passed", "t::b": "passed", "t::old": "failed"}),
        baseline=BASE,
        settings=settings(tmp_path),
        duration=1.0,
    )
    assert (score.replay_fixed, score.replay_total) == (2, 2)
    assert score.regressions == [] and score.new_failures == []
    assert (score.tests_passed, score.tests_failed) == (2, 1)  # t::old already failed on base
    assert score.passed and score.verdict.startswith("verified")
    assert score.backend == "bwrap"


def test_a_check_that_passed_on_the_base_and_fails_now_is_a_regression(tmp_path: Path) -> None:
    score = compute_score(
        replay=run({R1: "passed", R2: "passed"}),
        node_to_task=NODES,
        unreplayable=0,
        tests=run({"t::a": "failed", "t::b": "timeout", "t::new": "failed"}),
        baseline=BASE,
        settings=settings(tmp_path),
        duration=1.0,
    )
    assert score.regressions == ["t::a", "t::b"]
    assert score.new_failures == ["t::new"]
    assert score.tests_errors == 1
    assert not score.passed
    assert "2 regression(s): t::a, t::b" in score.verdict


def test_regressions_within_the_allowance_pass(tmp_path: Path) -> None:
    score = compute_score(
        replay=run({R1: "passed", R2: "passed"}),
        node_to_task=NODES,
        unreplayable=0,
        tests=run({"t::a": "failed", "t::b": "passed"}),
        baseline=BASE,
        settings=settings(tmp_path, max_regressions=1),
        duration=1.0,
    )
    assert score.regressions == ["t::a"] and score.passed


def test_unfixed_and_not_run_cases_fail_and_are_counted(tmp_path: Path) -> None:
    score = compute_score(
        replay=run({R1: "failed"}),
        node_to_task=NODES,
        unreplayable=1,
        tests=None,
        baseline=BASE,
        settings=settings(tmp_path),
        duration=1.0,
    )
    assert (score.replay_fixed, score.replay_total, score.replay_not_run) == (0, 2, 1)
    assert score.unfixed == ["t1", "t2"]
    assert score.replay_unreplayable == 1
    assert not score.tests_run and not score.passed
    assert "fixes 0/2" in score.verdict
    assert score.regressions == []  # replay cases failing on the base are not regressions


@pytest.mark.parametrize(("share", "passed"), [(0.5, True), (0.75, False)])
def test_min_fixed_share_decides_partial_fixes(tmp_path: Path, share: float, passed: bool) -> None:
    score = compute_score(
        replay=run({R1: "passed", R2: "failed"}),
        node_to_task=NODES,
        unreplayable=0,
        tests=run({"t::a": "passed", "t::b": "passed"}),
        baseline=BASE,
        settings=settings(tmp_path, min_fixed_share=share),
        duration=1.0,
    )
    assert score.fixed_share == 0.5
    assert score.passed is passed


def test_a_broken_suite_fails_even_without_failing_tests(tmp_path: Path) -> None:
    score = compute_score(
        replay=run({R1: "passed", R2: "passed"}),
        node_to_task=NODES,
        unreplayable=0,
        tests=run(
            {}, collection_errors=["tests/test_x.py: SyntaxError"], reason="1 collection error(s)"
        ),
        baseline=BASE,
        settings=settings(tmp_path),
        duration=1.0,
    )
    assert not score.passed and "test suite broke" in score.verdict


def test_no_replay_cases_scores_on_the_suite_alone(tmp_path: Path) -> None:
    score = compute_score(
        replay=None,
        node_to_task={},
        unreplayable=0,
        tests=run({"t::a": "passed"}),
        baseline=BASE,
        settings=settings(tmp_path),
        duration=1.0,
    )
    assert score.fixed_share == 1.0 and score.passed
