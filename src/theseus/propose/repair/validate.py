"""Validating mutants: each worker owns a copy of the project and resets it per mutant.

Validation is ordered to reject bad mutants as cheaply as possible: the tests that failed
on the buggy code run first (most mutants do not fix them, and one failing test ends the
run); only a mutant that fixes them all pays for the whole command. The outcome counts
how many of the originally failing tests it fixed, which the second round uses to pick
promising partial fixes.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from theseus._scratch import DEFAULT_QUOTA, make_scratch
from theseus.change.apply import patched_texts
from theseus.change.workspace import EXCLUDED_DIRS
from theseus.propose.base import ValidationOutcome
from theseus.propose.repair.runner import TrialRun, install_repair_plugin, run_tests
from theseus.verify.trials import ForkedTrials


def copy_project(root: Path) -> Path:
    """A throwaway copy of the project (minus caches, VCS data and virtualenvs)."""
    target = make_scratch("theseus-repair-", quota=DEFAULT_QUOTA) / "ws"
    shutil.copytree(root, target, ignore=shutil.ignore_patterns(*EXCLUDED_DIRS, "*.pyc"))
    install_repair_plugin(target)
    return target


class Worker:
    """One workspace and the knowledge of which tests failed and passed on the bug."""

    def __init__(
        self,
        workspace: Path,
        command: str,
        originals: Mapping[str, str],
        *,
        failing: Sequence[str],
        passing: Sequence[str],
        timeout: float,
        trials: ForkedTrials | None = None,
        confirm: bool = True,
    ) -> None:
        self.workspace = workspace
        self.command = command
        self.originals = dict(originals)
        self.failing = list(failing)
        self.passing = set(passing)
        self.timeout = timeout
        self.trials = trials
        self.confirm = confirm  # False when the caller proves every fix cold anyway

    def _write(self, texts: Mapping[str, str]) -> None:
        for path, text in texts.items():
            (self.workspace / path).write_text(text, encoding="utf-8")

    def check(
        self, texts: Mapping[str, str], *, stop_on_first_failure: bool = True
    ) -> ValidationOutcome:
        """Write the mutant, run failing tests first then everything, put originals back."""
        self._write(texts)
        try:
            return self._run(stop_on_first_failure)
        finally:
            self._write({p: self.originals[p] for p in texts if p in self.originals})
            for path in texts:
                if path not in self.originals:
                    (self.workspace / path).unlink(missing_ok=True)

    def _run(self, failfast: bool) -> ValidationOutcome:
        total = len(self.failing)
        fixed = 0
        if self.failing:
            first = run_tests(
                self.workspace, self.command, timeout=self.timeout,
                select=self.failing, failfast=failfast, trials=self.trials,
            )  # fmt: skip
            fixed = sum(1 for t in self.failing if first.outcomes.get(t) == "passed")
            if not first.passed or fixed < total:
                return ValidationOutcome(False, fixed, total, 0, _why(first, "failing tests"))
        full = run_tests(
            self.workspace, self.command, timeout=self.timeout, failfast=failfast,
            trials=self.trials,
        )  # fmt: skip
        if full.forked and full.passed and self.confirm:
            full = self._confirm_cold(failfast)
        broke = sum(1 for t in full.failed_tests() if t in self.passing)
        return ValidationOutcome(full.passed, fixed, total, broke, _why(full, "test command"))

    def _confirm_cold(self, failfast: bool) -> TrialRun:
        """A fix found in a fork is proved by the configured command, cold, before it
        counts; should the two disagree, this worker's later trials all run cold."""
        cold = run_tests(self.workspace, self.command, timeout=self.timeout, failfast=failfast)
        if not cold.passed and self.trials is not None:
            self.trials.disable("a forked run passed where the cold command failed")
        return cold


def _why(run: TrialRun, what: str) -> str:
    if run.timed_out:
        return f"{what} timed out"
    if run.passed:
        return f"{what} passed"
    failed = run.failed_tests()
    return f"{what} failed ({len(failed)} failing)" if failed else f"{what} exit {run.returncode}"


class WorkspaceValidator:
    """The :class:`~theseus.propose.base.Validator` of a worker: diffs instead of texts."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def validate(self, diff: str, *, stop_on_first_failure: bool = True) -> ValidationOutcome:
        texts = patched_texts(self.worker.workspace, diff).texts
        new = {path: text for path, text in texts.items() if text is not None}
        return self.worker.check(new, stop_on_first_failure=stop_on_first_failure)
