"""The search loop: rank order, the policy asked lazily, budgets."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from theseus.propose.base import SearchBudget, ValidationOutcome
from theseus.propose.repair.edit import Change
from theseus.propose.repair.mutants import Mutant
from theseus.propose.repair.search import search


def _mutant(n: int) -> Mutant:
    change = Change(1, "constant", f"change to {n}", 0.9, f"x = {n}\n", 1)
    return Mutant(((f"m{n}.py", change.new_source),), ((f"m{n}.py", change),), 1.0)


class PassesOn:
    """Checks a mutant by its text: only ``x = <good>`` passes (the test command's role)."""

    def __init__(self, good: int) -> None:
        self.good = good
        self.seen: list[str] = []

    def check(
        self, texts: Mapping[str, str], *, stop_on_first_failure: bool = True
    ) -> ValidationOutcome:
        [text] = texts.values()
        self.seen.append(text)
        return ValidationOutcome(passed=text == f"x = {self.good}\n")


def test_the_policy_is_asked_only_for_mutants_about_to_run() -> None:
    mutants = [_mutant(n) for n in range(50)]
    asked: list[int] = []

    def admissible(m: Mutant) -> bool:
        number = int(m.texts[0][1].split("=")[1])
        asked.append(number)
        return number != 1  # the policy forbids mutant 1

    checker = PassesOn(good=3)
    found = search(
        mutants, [checker], SearchBudget.from_seconds(30, 100), originals={}, admissible=admissible,
        second_round=False,
    )  # fmt: skip
    assert [m.texts[0][1] for m in found.fixes] == ["x = 3\n"]
    assert asked == [0, 1, 2, 3]  # not all fifty up front
    assert "x = 1\n" not in checker.seen  # an inadmissible mutant never runs
    assert found.tried == 3 and found.inadmissible == 1


def test_the_candidate_budget_counts_only_mutants_that_ran() -> None:
    mutants = [_mutant(n) for n in range(10)]
    found = search(
        mutants, [PassesOn(good=99)], SearchBudget.from_seconds(30, 4), originals={},
        admissible=lambda m: m.texts[0][1] != "x = 0\n", second_round=False,
    )  # fmt: skip
    assert found.tried == 4 and found.inadmissible == 1 and not found.fixes


def test_policy_checks_never_run_in_two_threads_at_once() -> None:
    # The policy parses code with ast, which CPython 3.11 cannot do in two threads at once
    # (SystemError "AST constructor recursion depth mismatch"); the search serialises it.
    inside, most = 0, 0
    guard = threading.Lock()

    def admissible(m: Mutant) -> bool:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.01)  # long enough for the other worker to arrive
        with guard:
            inside -= 1
        return True

    found = search(
        [_mutant(n) for n in range(12)], [PassesOn(good=99), PassesOn(good=99)],
        SearchBudget.from_seconds(30, 100), originals={}, admissible=admissible, second_round=False,
    )  # fmt: skip
    assert found.tried == 12 and most == 1


class SlowFirst:
    """Both mutants pass; the better-ranked one (0) finishes only after the other (1) did,
    as when the machine is busy and one worker's trial runs long."""

    def __init__(self) -> None:
        self.second_done = threading.Event()

    def check(
        self, texts: Mapping[str, str], *, stop_on_first_failure: bool = True
    ) -> ValidationOutcome:
        [text] = texts.values()
        if text == "x = 0\n":
            assert self.second_done.wait(30)
        else:
            self.second_done.set()
        return ValidationOutcome(passed=True)


def test_the_fix_found_is_the_best_ranked_whichever_worker_finishes_first() -> None:
    shared = SlowFirst()
    found = search(
        [_mutant(0), _mutant(1)], [shared, shared], SearchBudget.from_seconds(60, 10),
        originals={}, second_round=False,
    )  # fmt: skip
    assert [m.texts[0][1] for m in found.fixes] == ["x = 0\n"]
