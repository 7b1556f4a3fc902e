"""Forked trials: a warm pytest parent in the sandbox, one child per trial, cold fallback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from theseus.propose.repair.runner import forked_trials, run_tests
from theseus.verify.sandbox.backends import probe
from theseus.verify.trials import ForkedTrials, pytest_args

pytestmark = pytest.mark.e2e

CALC = "def add(a, b):\n    return a - b\n"
TESTS = """\
import os, sys, time
import calc

def test_add():
    assert calc.add(2, 3) == 5

def test_other():
    assert True

def test_hangs():
    while os.path.exists("hang.flag"):
        pass

def test_crashes():
    if os.path.exists("crash.flag"):
        os._exit(9)

def test_shadow():
    assert not os.path.exists("/etc/shadow")
"""


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("pytest -q", ("python", ["-q"])),
        ("py.test tests/", ("python", ["tests/"])),
        ("python -m pytest -x tests", ("python", ["-x", "tests"])),
        (".venv/bin/python3 -m pytest", (".venv/bin/python3", [])),
        ("make test", None),
        ("pytest -q && echo done", None),
        ("FOO=1 pytest", None),
        ("pytest 'unterminated", None),
        ("", None),
    ],
)
def test_only_plain_pytest_commands_are_forked(
    command: str, expected: tuple[str, list[str]] | None
) -> None:
    assert pytest_args(command) == expected


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "p"
    root.mkdir()
    (root / "calc.py").write_text(CALC)
    (root / "test_calc.py").write_text(TESTS)
    yield root


@pytest.fixture
def trials(project: Path) -> Iterator[ForkedTrials]:
    server = forked_trials(project, "pytest -q")
    yield server
    server.close()


def _outcomes(project: Path, trials: ForkedTrials | None, **kw: object) -> dict[str, str]:
    return run_tests(project, "pytest -q", timeout=20, trials=trials, **kw).outcomes  # type: ignore[arg-type]


@pytest.mark.skipif(not probe("bwrap").available, reason="needs the bwrap sandbox")
def test_a_fork_sees_what_a_cold_run_sees_and_the_candidate_on_disk(
    project: Path, trials: ForkedTrials
) -> None:
    cold = _outcomes(project, None)
    forked = run_tests(project, "pytest -q", timeout=20, trials=trials)
    assert forked.forked and trials.usable, trials.note
    assert forked.outcomes == cold and cold["test_calc.py::test_add"] == "failed"
    assert cold["test_calc.py::test_shadow"] == "passed"  # the fork is in the same sandbox
    (project / "calc.py").write_text(CALC.replace("a - b", "a + b"))  # the candidate
    fixed = run_tests(
        project, "pytest -q", timeout=20, trials=trials, select=["test_calc.py::test_add"]
    )
    assert fixed.forked and fixed.outcomes == {"test_calc.py::test_add": "passed"}
    (project / "calc.py").write_text(CALC)  # and back: no stale module survives a trial
    assert _outcomes(project, trials)["test_calc.py::test_add"] == "failed"


@pytest.mark.skipif(not probe("bwrap").available, reason="needs the bwrap sandbox")
def test_a_hanging_or_crashing_trial_is_killed_and_the_next_one_is_fine(
    project: Path, trials: ForkedTrials
) -> None:
    run_tests(project, "pytest -q", timeout=20, trials=trials)  # warm
    (project / "hang.flag").write_text("")
    hung = run_tests(
        project, "pytest -q", timeout=2, trials=trials, select=["test_calc.py::test_hangs"]
    )
    assert hung.forked and hung.timed_out and not hung.passed
    (project / "hang.flag").unlink()
    (project / "crash.flag").write_text("")
    crashed = run_tests(
        project, "pytest -q", timeout=20, trials=trials, select=["test_calc.py::test_crashes"]
    )
    assert crashed.forked and crashed.returncode == 9 and not crashed.passed
    (project / "crash.flag").unlink()
    after = run_tests(
        project, "pytest -q", timeout=20, trials=trials, select=["test_calc.py::test_other"]
    )
    assert after.forked and after.passed and trials.trials == 4


@pytest.mark.skipif(not probe("bwrap").available, reason="needs the bwrap sandbox")
def test_a_project_that_starts_threads_at_import_runs_cold(project: Path) -> None:
    (project / "conftest.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(600,), daemon=True, name='poller').start()\n"
    )
    server = forked_trials(project, "pytest -q")
    try:
        run = run_tests(project, "pytest -q", timeout=20, trials=server)
        assert not run.forked and run.outcomes["test_calc.py::test_other"] == "passed"
        assert server.note is not None and "poller" in server.note
    finally:
        server.close()


def test_a_command_that_is_not_pytest_runs_cold(project: Path) -> None:
    server = forked_trials(project, "python -m unittest")
    assert not server.usable and "plain pytest command" in (server.note or "")
    assert server.run({}, 5) is None


@pytest.mark.skipif(not probe("bwrap").available, reason="needs the bwrap sandbox")
def test_trials_share_one_configured_session_yet_start_from_a_clean_slate(
    project: Path, trials: ForkedTrials
) -> None:
    """The session mode keeps pytest configured across trials; nothing a trial did (module
    state, the report plugin's outcomes, a failfast flag) reaches the next one."""
    (project / "counter.py").write_text("SEEN = []\n")
    (project / "test_state.py").write_text(
        "import counter\n\ndef test_alone():\n    counter.SEEN.append(1)\n"
        "    assert counter.SEEN == [1]\n"
    )
    first = run_tests(project, "pytest -q", timeout=20, trials=trials, failfast=True)
    assert first.forked and first.fork_mode == "session", trials.note
    assert first.outcomes == {"test_calc.py::test_add": "failed"}  # failfast stopped it
    assert "1 failed" in first.output  # pytest's own report reaches the trial's output
    again = run_tests(project, "pytest -q", timeout=20, trials=trials)
    assert again.outcomes["test_state.py::test_alone"] == "passed"
    assert again.outcomes["test_calc.py::test_other"] == "passed"  # no failfast left over
    twice = run_tests(project, "pytest -q", timeout=20, trials=trials)
    assert twice.outcomes == again.outcomes  # the appended state died with the child


@pytest.mark.skipif(not probe("bwrap").available, reason="needs the bwrap sandbox")
def test_a_conftest_holding_project_code_gets_a_whole_session_per_trial(project: Path) -> None:
    """A conftest that imports the project at module level would keep the parent's copy in
    a shared session; the server notices and runs whole sessions, which see the candidate."""
    (project / "conftest.py").write_text(
        "import pytest\nfrom calc import add\n\n@pytest.fixture\ndef adder():\n    return add\n"
    )
    (project / "test_fixture.py").write_text(
        "def test_adder(adder):\n    assert adder(2, 3) == 5\n"
    )
    server = forked_trials(project, "pytest -q")
    try:
        before = run_tests(project, "pytest -q", timeout=20, trials=server)
        assert before.forked and before.fork_mode == "main", server.note
        assert before.outcomes["test_fixture.py::test_adder"] == "failed"
        (project / "calc.py").write_text(CALC.replace("a - b", "a + b"))
        after = run_tests(project, "pytest -q", timeout=20, trials=server)
        assert after.outcomes["test_fixture.py::test_adder"] == "passed"
    finally:
        server.close()


@pytest.mark.skipif(not probe("bwrap").available, reason="needs the bwrap sandbox")
def test_a_conftest_importing_the_project_lazily_keeps_the_shared_session(
    project: Path,
) -> None:
    (project / "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef adder():\n    from calc import add\n    return add\n"
    )
    (project / "test_fixture.py").write_text(
        "def test_adder(adder):\n    assert adder(2, 3) == 5\n"
    )
    server = forked_trials(project, "pytest -q")
    try:
        assert run_tests(project, "pytest -q", timeout=20, trials=server).fork_mode == "session"
        (project / "calc.py").write_text(CALC.replace("a - b", "a + b"))
        after = run_tests(project, "pytest -q", timeout=20, trials=server)
        assert after.outcomes["test_fixture.py::test_adder"] == "passed"
    finally:
        server.close()


@pytest.mark.skipif(not probe("bwrap").available, reason="needs the bwrap sandbox")
def test_what_tests_import_while_running_is_imported_once_in_the_parent(
    tmp_path: Path, project: Path
) -> None:
    """A library imported inside a test (an SDK in a fixture) is learned by running the
    base suite once and imported by the parent, so no trial imports it again; a later
    server of the same project is told the names and does not run the suite to learn."""
    (project / "test_lazy.py").write_text(
        "import sys\n\ndef test_lazy():\n"
        "    with open('seen.txt', 'a') as out:\n"
        "        out.write(str('colorsys' in sys.modules) + '\\n')\n"
        "    import colorsys\n"
    )
    first = forked_trials(project, "pytest -q")
    try:
        run = run_tests(
            project, "pytest -q", timeout=20, trials=first, select=["test_lazy.py::test_lazy"]
        )
        assert run.forked and run.passed, first.note
        assert (project / "seen.txt").read_text().splitlines()[-1] == "True"
    finally:
        first.close()
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    (copy / "seen.txt").unlink()
    second = forked_trials(copy, "pytest -q")
    try:
        assert second.preloaded
        run = run_tests(
            copy, "pytest -q", timeout=20, trials=second, select=["test_lazy.py::test_lazy"]
        )
        assert run.forked and run.passed, second.note
        assert (copy / "seen.txt").read_text().splitlines() == ["True"]  # no learning run
    finally:
        second.close()
