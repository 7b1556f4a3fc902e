"""The repair engine's test runs: outcomes per test, with pytest's assert rewriting off."""

from __future__ import annotations

from pathlib import Path

from theseus.propose.repair.runner import run_tests

TESTS = """\
def test_asserts_are_plain(pytestconfig):
    assert pytestconfig.getoption("assertmode") == "plain"


def helper(values):
    assert values == [2], values


def test_a_failing_assert_still_fails():
    helper([1])


def test_a_passing_assert_passes():
    assert [1] + [1] == [1, 1]
"""


def test_runs_use_plain_asserts_and_keep_every_outcome(tmp_path: Path) -> None:
    (tmp_path / "test_mode.py").write_text(TESTS, encoding="utf-8")
    run = run_tests(tmp_path, "python -m pytest -q -p no:cacheprovider test_mode.py", timeout=120)
    assert run.outcomes == {
        "test_mode.py::test_asserts_are_plain": "passed",
        "test_mode.py::test_a_failing_assert_still_fails": "failed",
        "test_mode.py::test_a_passing_assert_passes": "passed",
    }
    assert not run.passed
