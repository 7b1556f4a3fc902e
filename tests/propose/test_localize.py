"""Localisation ranks the buggy statement near the top, with and without a traceback."""

from __future__ import annotations

from pathlib import Path

from theseus.propose.repair.engine import RepairOptions, localise
from theseus.propose.repair.localize import StatementIndex, parse_frames, traceback_scores
from theseus.propose.repair.runner import run_tests
from theseus.propose.repair.spectrum import Counts, dstar, ochiai, rank, spectrum_counts

WRONG_RESULT = """\
def classify(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    if n > 10:
        return "big"
    kind = "small"
    return kind
"""
WRONG_TESTS = """\
from prog import classify


def test_negative():
    assert classify(-1) == "negative"


def test_zero():
    assert classify(0) == "zero"


def test_small():
    assert classify(3) == "small"


def test_big():
    assert classify(10) == "big"
"""
CRASH = """\
def first(items):
    head = items[0]
    return head


def describe(items):
    label = "list"
    return label + ":" + str(first(items))
"""
CRASH_TESTS = """\
from prog import describe


def test_some():
    assert describe([1]) == "list:1"


def test_empty():
    assert describe([]) == "list:None"
"""


def _project(tmp_path: Path, source: str, tests: str) -> Path:
    (tmp_path / "prog.py").write_text(source)
    (tmp_path / "test_prog.py").write_text(tests)
    return tmp_path


def test_spectrum_finds_wrong_result_without_traceback(tmp_path: Path) -> None:
    root = _project(tmp_path, WRONG_RESULT, WRONG_TESTS)
    run = run_tests(root, "python -m pytest -q test_prog.py", timeout=120, cover=["prog.py"])
    assert run.failed_tests() == ["test_prog.py::test_big"]
    ranked = localise(run, {"prog.py": WRONG_RESULT}, RepairOptions("x", ["prog.py"]))
    top = [loc.line for loc in ranked[:3]]
    assert 6 in top  # `if n > 10:` is the bug
    assert all("trace" not in loc.sources for loc in ranked)


def test_traceback_puts_the_raising_line_first(tmp_path: Path) -> None:
    root = _project(tmp_path, CRASH, CRASH_TESTS)
    run = run_tests(root, "python -m pytest -q test_prog.py", timeout=120, cover=["prog.py"])
    ranked = localise(run, {"prog.py": CRASH}, RepairOptions("x", ["prog.py"]))
    assert (ranked[0].path, ranked[0].line) == ("prog.py", 2)
    assert "trace" in ranked[0].sources and "spectrum" in ranked[0].sources


def test_traceback_depth_weighting_and_neighbours() -> None:
    index = {"prog.py": StatementIndex(CRASH)}
    trace = [("test_prog.py", 9, "test_empty"), ("prog.py", 8, "describe"), ("prog.py", 2, "first")]
    scores = traceback_scores([trace], index)
    assert scores[("prog.py", 2)] == 1.0
    assert scores[("prog.py", 8)] < 1.0
    assert ("prog.py", 3) not in scores  # below the raising line: cannot have caused it
    shallow = traceback_scores([trace[:2]], index)  # describe raised itself
    assert 0 < shallow[("prog.py", 7)] < shallow[("prog.py", 8)] == 1.0


def test_frames_parsed_from_plain_and_pytest_tracebacks() -> None:
    text = (
        'Traceback (most recent call last):\n  File "pkg/mod.py", line 12, in run\n'
        "pkg/other.py:40: in helper\n    x = y[0]\nE   IndexError\n"
    )
    assert parse_frames(text) == [("pkg/mod.py", 12, "run"), ("pkg/other.py", 40, "helper")]


def test_formulas() -> None:
    only_failing = Counts(ef=1, ep=0, nf=0, np=3)
    shared = Counts(ef=1, ep=3, nf=0, np=0)
    assert ochiai(only_failing) == 1.0
    assert ochiai(shared) == 0.5
    assert dstar(only_failing) > dstar(shared)
    counts = spectrum_counts(
        {"t1": {"a.py": [1, 2]}, "t2": {"a.py": [1], "b.py": [5]}}, ["t1"], ["t2"],
        keep=frozenset({"a.py"}),
    )  # fmt: skip
    assert counts[("a.py", 2)] == Counts(ef=1, ep=0, nf=0, np=1)
    assert ("b.py", 5) not in counts
    assert rank(counts, "dstar")[("a.py", 2)] == 1.0
