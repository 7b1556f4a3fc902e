"""verify_candidate end to end: real git worktrees, real policy, the real sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mini_agent import mini_agent

from theseus.change.candidate import Candidate
from theseus.lineage.archive import Archive
from theseus.verify.pipeline import Verification, store_verification, verify_candidate

pytestmark = pytest.mark.e2e


mini = mini_agent()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return mini.make_project(tmp_path_factory.mktemp("verify") / "mini")


def verify(project: Any, edits: dict[str, tuple[str, str]] | str, **kw: Any) -> Verification:
    diff = edits if isinstance(edits, str) else project.diff(edits)
    candidate = Candidate.create(base_commit=project.head, diff=diff, proposer="test")
    return verify_candidate(candidate, mini.add_batch(), project.settings(), project.root, **kw)


def test_policy_rejects_import_subprocess_before_anything_runs(project: Any) -> None:
    # First in the module: no baseline exists yet, and none may be made for a rejected one.
    result = verify(project, mini.SUBPROCESS)
    assert result.status == "rejected_policy"
    assert any("subprocess" in v and "calc.py:2" in v for v in result.violations), result.violations
    assert result.score is None and result.checks == {}
    assert not (project.root / ".theseus" / "baselines").exists()


def test_policy_rejects_an_edit_of_a_protected_file(project: Any) -> None:
    result = verify(project, mini.PROTECTED)
    assert result.status == "rejected_policy"
    assert any("mini/app.py" in v for v in result.violations)
    assert result.score is None


def test_a_patch_that_does_not_apply_is_invalid_with_a_reason(project: Any) -> None:
    diff = project.diff(mini.FIX).replace("-    return a - b", "-    return a * b")
    result = verify(project, diff)
    assert result.status == "invalid"
    assert "does not apply" in result.reason and "calc.py" in result.reason


def test_a_candidate_that_fixes_the_bug_verifies_green(project: Any) -> None:
    result = verify(project, mini.FIX)
    assert result.status == "verified", result.reason
    score = result.score
    assert score is not None
    assert (score.replay_fixed, score.replay_total) == (2, 2)
    assert (score.tests_passed, score.tests_failed, score.regressions) == (3, 0, [])
    assert set(result.replay_cases.values()) == {"passed"}
    assert score.backend
    assert project.head  # the live tree is untouched:
    assert "return a - b" in (project.root / "mini/skills/calc.py").read_text()
    assert not (project.root / ".theseus_replay").exists()


def test_a_candidate_that_breaks_another_skill_shows_the_regression(project: Any) -> None:
    result = verify(project, mini.BREAK_GREET)
    assert result.status == "failed"
    assert result.score is not None
    assert result.score.replay_fixed == 2  # it does fix the batch ...
    assert result.score.regressions == ["tests/test_skills.py::test_greet"]  # ... but breaks greet
    assert "regression" in result.reason
    assert result.baseline_cached  # computed once, by an earlier candidate on this base


def test_an_unfixed_case_fails_fast_without_running_the_suite(project: Any) -> None:
    result = verify(project, mini.NO_FIX)
    assert result.status == "failed"
    assert result.score is not None and not result.score.tests_run
    assert result.score.replay_fixed == 0
    assert result.score.replay_not_run == 1  # -x stopped at the first unfixed case
    assert "fixes 0/2" in result.reason


def test_without_fail_fast_every_case_and_the_suite_run(project: Any) -> None:
    settings = project.settings()
    slow = settings.model_copy(
        update={"verify": settings.verify.model_copy(update={"fail_fast": False})}
    )
    candidate = Candidate.create(
        base_commit=project.head, diff=project.diff(mini.NO_FIX), proposer="t"
    )
    result = verify_candidate(candidate, mini.add_batch(), slow, project.root)
    assert result.score is not None
    assert result.score.replay_not_run == 0 and result.score.tests_run
    assert result.replay_cases == {"task-1": "failed", "task-2": "failed"}


def test_results_are_stored_with_the_candidate_in_the_archive(project: Any, tmp_path: Path) -> None:
    archive = Archive(tmp_path / "theseus.db")
    try:
        candidate = Candidate.create(
            base_commit=project.head, diff=project.diff(mini.FIX), proposer="t"
        )
        archive.add(candidate)
        result = verify_candidate(
            candidate, mini.add_batch(), project.settings(), project.root, archive=archive
        )
        assert archive.status(candidate.id) == "verified"
        scores = archive.scores(candidate.id)
        assert scores is not None
        assert (scores["replay_fixed"], scores["replay_total"], scores["regressions"]) == (2, 2, [])
        # Re-verifying a candidate past "proposed" only refreshes its scores.
        store_verification(archive, result)
        assert [t.to_status for t in archive.history(candidate.id)] == ["proposed", "verified"]
    finally:
        archive.close()
