"""A candidate's score: how many recorded failures it fixes and what it breaks.

The verdict compares against the base, not against perfection: a test that already failed on
the base is not the candidate's fault, but a check that passed there and fails now is a
regression, and that is what the gate refuses by default.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from pydantic import BaseModel, ConfigDict, Field

from theseus.config import Settings
from theseus.verify.testrun import PASSING, CheckRun


class Score(BaseModel):
    """Everything the gate and people need to judge one verified candidate."""

    model_config = ConfigDict(extra="forbid")

    replay_fixed: int = 0
    replay_total: int = 0
    replay_not_run: int = Field(default=0, description="cases skipped by fail-fast")
    replay_unreplayable: int = Field(default=0, description="cases whose input was not captured")
    holdout_fixed: int = Field(default=0, description="of the cases the proposers never saw")
    holdout_total: int = 0
    case_problems: dict[str, str] = Field(
        default_factory=dict,
        description="task id -> why its case still fails: 'wrong_answer: ...', 'wrong_type:"
        " ...', 'wrong_shape: ...', 'unrecorded_call: ...', or the exception",
    )
    unrecorded_calls: list[str] = Field(
        default_factory=list, description="task ids whose replay made a call not recorded"
    )
    forwarded_calls: int = Field(
        default=0, description="unrecorded calls forwarded to [replay] forward_url"
    )
    tests_passed: int = 0
    tests_failed: int = 0
    tests_errors: int = Field(default=0, description="errors, timeouts and crashes")
    tests_skipped: int = 0
    tests_run: bool = Field(default=False, description="the project's test command ran")
    regressions: list[str] = Field(default_factory=list, description="passed on base, fail now")
    new_failures: list[str] = Field(default_factory=list, description="fail now, unknown on base")
    unfixed: list[str] = Field(default_factory=list, description="task ids still failing")
    duration: float = 0.0
    backend: str = ""
    passed: bool = False
    verdict: str = ""

    @property
    def fixed_share(self) -> float:
        return self.replay_fixed / self.replay_total if self.replay_total else 1.0

    @property
    def holdout_share(self) -> float:
        return self.holdout_fixed / self.holdout_total if self.holdout_total else 1.0


def compute_score(
    *,
    replay: CheckRun | None,
    node_to_task: dict[str, str],
    unreplayable: int,
    holdout: Collection[str] = (),
    tests: CheckRun | None,
    baseline: dict[str, str],
    settings: Settings,
    duration: float,
) -> Score:
    """Score a candidate's runs against the base's outcomes (check id -> outcome).

    ``replay`` is None only when there were no replayable cases; ``tests`` is None when the
    suite was skipped (fail-fast after an unfixed case).
    """
    score = Score(replay_total=len(node_to_task), replay_unreplayable=unreplayable)
    score.duration = duration
    outcomes: dict[str, str] = {}
    if replay is not None:
        outcomes.update(replay.outcomes())
        score.backend = replay.backend
        score.forwarded_calls = len(replay.forwarded_calls)
    for node, task in node_to_task.items():
        outcome = outcomes.get(node, "not_run")
        held_out = task in holdout
        score.holdout_total += held_out
        if outcome == "passed":
            score.replay_fixed += 1
            score.holdout_fixed += held_out
            continue
        score.unfixed.append(task)
        if outcome == "not_run":
            score.replay_not_run += 1
        elif replay is not None and node in replay.checks:
            problem = case_problem(replay.checks[node].message, outcome)
            score.case_problems[task] = problem
            if problem.startswith("unrecorded_call:"):
                score.unrecorded_calls.append(task)
    if tests is not None:
        score.tests_run = True
        score.backend = score.backend or tests.backend
        outcomes.update(tests.outcomes())
        score.tests_passed = tests.count("passed")
        score.tests_failed = tests.count("failed")
        score.tests_errors = tests.count("error", "timeout")
        score.tests_skipped = tests.count("skipped")
    for check, outcome in outcomes.items():
        if outcome in PASSING or outcome == "not_run":
            continue
        before = baseline.get(check)
        if before in PASSING:
            score.regressions.append(check)
        elif before is None and check not in node_to_task:
            score.new_failures.append(check)
    _judge(score, replay, tests, settings)
    return score


_CASE_LINE = re.compile(r"theseus-case: (\w+): (.*)")
_RAISED = re.compile(r"^E\s+(\w[\w.]*(?:Error|Exception|Timeout|Interrupt|Exit)\b.*)$", re.M)


def case_problem(message: str, outcome: str) -> str:
    """One line saying why a replay case failed, from its pytest report text."""
    found = _CASE_LINE.search(message)
    if found:
        return f"{found.group(1)}: {found.group(2).strip()}"[:300]
    raised = _RAISED.findall(message)
    if raised:
        return f"raised: {raised[-1].strip()}"[:300]
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return f"{outcome}: {lines[-1][:280]}" if lines else outcome


def _judge(
    score: Score, replay: CheckRun | None, tests: CheckRun | None, settings: Settings
) -> None:
    problems: list[str] = []
    gate = settings.gate
    shown_fixed = score.replay_fixed - score.holdout_fixed
    fits_shown = shown_fixed == score.replay_total - score.holdout_total
    if score.replay_total and score.fixed_share < gate.min_fixed_share:
        problem = f"fixes {score.replay_fixed}/{score.replay_total} replay cases"
        if score.holdout_fixed < score.holdout_total and fits_shown:
            problem += (
                f": every case it was shown, but {score.holdout_fixed}/{score.holdout_total}"
                " held out (overfitted)"
            )
        problems.append(problem)
    elif score.replay_total and score.replay_fixed == 0:
        problems.append("fixes none of the replay cases")
    if score.unrecorded_calls:
        problems.append(
            f"{len(score.unrecorded_calls)} case(s) made a call the recording lacks"
            " (unrecorded_call)"
        )
    if replay is not None and (replay.collection_errors or (replay.timed_out and score.unfixed)):
        problems.append(f"replay run broke: {replay.reason}")
    if len(score.regressions) > gate.max_regressions:
        shown = ", ".join(score.regressions[:3])
        problems.append(f"{len(score.regressions)} regression(s): {shown}")
    if score.new_failures:
        problems.append(f"{len(score.new_failures)} new failing check(s): {score.new_failures[0]}")
    if tests is not None and (tests.collection_errors or tests.timed_out):
        problems.append(f"test suite broke: {tests.reason}")
    if tests is None and not problems:
        problems.append("the test suite did not run")
    score.passed = not problems
    if score.passed:
        fixed = f"fixes {score.replay_fixed}/{score.replay_total} replay cases"
        if score.holdout_total:
            fixed += f" ({score.holdout_fixed}/{score.holdout_total} held out)"
        suite = f"{score.tests_passed} tests passed"
        score.verdict = f"verified: {fixed}, {suite}, no regressions"
    else:
        score.verdict = "failed: " + "; ".join(problems)
