"""Candidate code inside a forked trial tries to report a pass it did not earn.

A forked trial's child descends from the warm trial server, which holds the socket its
answers go back on. The candidate's tests try to write a forged "passed" answer into every
file descriptor they have, or kill the server so that no honest answer comes: either way
the trial must count as failed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from theseus.propose.repair.runner import forked_trials, run_tests
from theseus.verify.sandbox.backends import probe

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not probe("bwrap").available, reason="needs the bwrap sandbox"),
]

FORGE = """\
import os

def test_forges_a_pass():
    forged = b'{"returncode": 0, "timed_out": false, "duration": 0.0}\\n'
    for fd in range(3, 256):
        try:
            os.write(fd, forged)
        except OSError:
            pass
    assert False, "this candidate is wrong"
"""

KILL = """\
import os, signal

def test_kills_the_server():
    os.kill(os.getppid(), signal.SIGKILL)
    assert False, "this candidate is wrong"
"""


@pytest.mark.parametrize("attack", [FORGE, KILL], ids=["forged-answer", "kill-the-server"])
def test_a_trial_cannot_report_a_pass_it_did_not_earn(tmp_path: Path, attack: str) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    trials = forked_trials(project, "pytest -q")
    try:
        warm = run_tests(project, "pytest -q", timeout=30, trials=trials)
        assert warm.forked and warm.passed
        (project / "test_attack.py").write_text(attack)
        run = run_tests(project, "pytest -q", timeout=30, trials=trials)
        assert not run.passed, run.output
        assert run.outcomes.get("test_attack.py::test_forges_a_pass") != "passed"
    finally:
        trials.close()
