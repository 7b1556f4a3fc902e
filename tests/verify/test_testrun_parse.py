"""The per-test report parser and the test-command helpers (no sandbox needed)."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from theseus.errors import ConfigError
from theseus.verify.testrun import (
    CheckRun,
    is_pytest,
    parse_report,
    split_command,
    without_exitfirst,
)


def start(node: str) -> str:
    return json.dumps({"event": "start", "nodeid": node})


def phase(node: str, when: str, outcome: str, message: str = "") -> str:
    return json.dumps(
        {
            "event": "report",
            "nodeid": node,
            "when": when,
            "outcome": outcome,
            "duration": 0.01,
            "message": message,
        }
    )


def full(node: str, call: str = "passed") -> list[str]:
    return [
        start(node),
        phase(node, "setup", "passed"),
        phase(node, "call", call, "boom" if call == "failed" else ""),
        phase(node, "teardown", "passed"),
    ]


FINISH = json.dumps({"event": "finish", "exitstatus": 0})


def test_passed_failed_and_setup_error_are_told_apart() -> None:
    lines = [
        *full("t.py::a"),
        *full("t.py::b", "failed"),
        start("t.py::c"),
        phase("t.py::c", "setup", "failed", "fixture broke"),
        phase("t.py::c", "teardown", "passed"),
        *full("t.py::d", "skipped"),
        FINISH,
    ]
    run = parse_report(lines, timed_out=False)
    assert run.outcomes() == {
        "t.py::a": "passed",
        "t.py::b": "failed",
        "t.py::c": "error",
        "t.py::d": "skipped",
    }
    assert run.checks["t.py::b"].message == "boom"
    assert run.finished


def test_a_test_running_when_the_sandbox_timed_out_is_a_timeout() -> None:
    lines = [*full("t.py::a"), start("t.py::slow"), phase("t.py::slow", "setup", "passed")]
    run = parse_report(lines, timed_out=True)
    assert run.outcomes() == {"t.py::a": "passed", "t.py::slow": "timeout"}
    assert not run.finished


def test_a_test_running_when_the_process_died_is_an_error() -> None:
    lines = [start("t.py::crash"), phase("t.py::crash", "setup", "passed")]
    run = parse_report(lines, timed_out=False)
    assert run.checks["t.py::crash"].outcome == "error"
    assert "died" in run.checks["t.py::crash"].message


def test_teardown_failure_after_a_passing_call_is_an_error() -> None:
    node = "t.py::a"
    lines = [
        start(node),
        phase(node, "setup", "passed"),
        phase(node, "call", "passed"),
        phase(node, "teardown", "failed"),
        FINISH,
    ]
    assert parse_report(lines, timed_out=False).checks[node].outcome == "error"


def test_collection_errors_are_kept() -> None:
    lines = [json.dumps({"event": "collect_error", "nodeid": "t.py", "message": "SyntaxError"})]
    run = parse_report(lines, timed_out=False)
    assert run.collection_errors == ["t.py: SyntaxError"]
    assert not run.checks


def test_garbage_and_a_cut_last_line_are_ignored() -> None:
    lines = [*full("t.py::a"), "not json", "[1, 2]", '{"event": "report", "nodeid": "t.py::b", "wh']
    run = parse_report(lines, timed_out=True)
    assert run.outcomes() == {"t.py::a": "passed"}


@given(st.lists(st.text(max_size=80), max_size=30), st.booleans())
def test_parse_report_never_raises_on_arbitrary_text(lines: list[str], timed_out: bool) -> None:
    run = parse_report(lines, timed_out=timed_out)
    assert isinstance(run, CheckRun)


NODE = st.text(alphabet="abcxyz_:/.[]", min_size=1, max_size=12)
OUTCOME = st.sampled_from(["passed", "failed", "skipped"])


@given(st.dictionaries(NODE, OUTCOME, max_size=10))
def test_complete_reports_round_trip_to_their_outcomes(expected: dict[str, str]) -> None:
    lines = [line for node, outcome in expected.items() for line in full(node, outcome)]
    run = parse_report([*lines, FINISH], timed_out=False)
    assert run.outcomes() == expected


def test_split_command_uses_this_interpreter_for_python_and_pytest() -> None:
    assert split_command("python -m pytest -q 'tests dir'") == [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "tests dir",
    ]
    assert split_command("pytest -x")[:3] == [sys.executable, "-m", "pytest"]
    assert split_command("make test") == ["make", "test"]


@pytest.mark.parametrize("command", ["", "   ", "pytest 'unclosed"])
def test_split_command_rejects_bad_commands(command: str) -> None:
    with pytest.raises(ConfigError, match=r"tests\.command"):
        split_command(command)


def test_is_pytest() -> None:
    assert is_pytest([sys.executable, "-m", "pytest"])
    assert is_pytest(["/usr/bin/pytest", "-q"])
    assert not is_pytest([sys.executable, "-m", "unittest"])
    assert not is_pytest(["make", "test"])


def test_without_exitfirst_removes_every_form() -> None:
    argv = ["py", "-m", "pytest", "-x", "--exitfirst", "--maxfail", "3", "--maxfail=2", "-q"]
    assert without_exitfirst(argv) == ["py", "-m", "pytest", "-q"]
