"""The search: validate ranked mutants in parallel until enough pass, within a hard budget.

Workers are threads, each owning one :class:`Worker` (a workspace); the real work happens in
the test subprocesses, so threads are enough and keep the shared queue simple. The first
round tries single edits in rank order; if none passes and time is left, a second round
tries pairs of edits, built first from mutants that fixed some of the failing tests (a
partial fix is the best evidence that a location and an operator are right).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from theseus.propose.base import SearchBudget, ValidationOutcome
from theseus.propose.repair.mutants import Mutant, RankedMutants, combine

SearchProgress = Callable[[int, int, int], None]  # tried, queued, fixes found
Admissible = Callable[[Mutant], bool]
Ranked = Sequence[Mutant] | RankedMutants
"""Mutants best first: a list, or one built lazily as the search reads it."""
PAIR_POOL = 14
MAX_PAIRS = 150


class Checker(Protocol):
    def check(
        self, texts: Mapping[str, str], *, stop_on_first_failure: bool = True
    ) -> ValidationOutcome: ...


@dataclass
class SearchResult:
    fixes: list[Mutant] = field(default_factory=list)
    tried: int = 0
    timed_out: bool = False
    partial: list[tuple[Mutant, ValidationOutcome]] = field(default_factory=list)
    rounds: int = 1
    inadmissible: int = 0

    def best(self) -> Mutant | None:
        """The most natural fix: fewest tokens changed, then highest prior."""
        if not self.fixes:
            return None
        return min(self.fixes, key=lambda m: (len(m.edits), m.tokens, -m.prior))


def _at(mutants: Ranked, index: int) -> Mutant | None:
    if isinstance(mutants, RankedMutants):
        return mutants.at(index)
    return mutants[index] if index < len(mutants) else None


def _known(mutants: Ranked) -> int:
    return mutants.built if isinstance(mutants, RankedMutants) else len(mutants)


def _run_round(
    mutants: Ranked,
    checkers: Sequence[Checker],
    budget: SearchBudget,
    want: int,
    result: SearchResult,
    progress: SearchProgress | None,
    admissible: Admissible | None,
) -> None:
    lock = threading.Lock()
    position = itertools.count()

    found: list[tuple[int, Mutant]] = []  # (rank, fix): every fix, also past ``want``

    def take() -> tuple[int, Mutant] | None:
        with lock:
            if len(found) >= want or result.tried >= budget.max_candidates:
                return None
            if budget.expired():
                result.timed_out = True
                return None
            index = next(position)
            mutant = _at(mutants, index)  # built now if it was not yet: under the lock
            if mutant is None:
                return None
            result.tried += 1
            return index, mutant

    def work(checker: Checker) -> None:
        while (taken := take()) is not None:
            index, mutant = taken
            if admissible is not None and not _admitted(admissible, mutant):
                with lock:
                    result.tried -= 1
                    result.inadmissible += 1
                continue
            outcome = checker.check(dict(mutant.texts))
            with lock:
                if outcome.passed:
                    found.append((index, mutant))
                elif outcome.failing_fixed > 0 and len(mutant.edits) == 1:
                    result.partial.append((mutant, outcome))
                if progress is not None:
                    progress(result.tried, _known(mutants), len(found))

    with ThreadPoolExecutor(max_workers=len(checkers), thread_name_prefix="repair") as pool:
        for future in [pool.submit(work, checker) for checker in checkers]:
            future.result()
    # Mutants are taken in rank order, so when one passes, every better-ranked one has
    # been tried or is still running: waiting for those and keeping the best-ranked fixes
    # gives what a search of one worker would, whichever worker happened to finish first.
    result.fixes.extend(mutant for _, mutant in sorted(found, key=lambda f: f[0])[:want])


_POLICY_LOCK = threading.Lock()


def _admitted(admissible: Admissible, mutant: Mutant) -> bool:
    """The policy check, one thread at a time: it parses code with ``ast``, and CPython
    3.11's AST constructor can fail with ``SystemError: AST constructor recursion depth
    mismatch`` when two threads build trees at once (gh-106905, seen here under load). The
    check is CPU-bound under the GIL anyway, so serialising it costs no parallelism."""
    with _POLICY_LOCK:
        return admissible(mutant)


def pairs(
    singles: Ranked, partial: Sequence[tuple[Mutant, ValidationOutcome]],
    originals: Mapping[str, str],
) -> list[Mutant]:  # fmt: skip
    """Pairs of edits on different lines: partial fixes first, then the top singles."""
    ranked_partial = [m for m, _ in sorted(partial, key=lambda p: -p[1].failing_fixed)]
    pool: list[Mutant] = []
    for mutant in itertools.chain(ranked_partial, singles):
        if mutant not in pool:
            pool.append(mutant)
        if len(pool) >= PAIR_POOL:
            break
    made: list[Mutant] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for a, b in itertools.combinations(pool, 2):
        if a.edits[0][0] == b.edits[0][0] and a.edits[0][1].line == b.edits[0][1].line:
            continue
        both = combine(a, b, originals)
        if both is not None and both.texts not in seen:
            seen.add(both.texts)
            made.append(both)
    made.sort(key=lambda m: -m.score)
    return made[:MAX_PAIRS]


def search(
    mutants: Ranked,
    checkers: Sequence[Checker],
    budget: SearchBudget,
    *,
    originals: Mapping[str, str],
    alternatives: int = 1,
    second_round: bool = True,
    progress: SearchProgress | None = None,
    admissible: Admissible | None = None,
) -> SearchResult:
    """Validate ``mutants`` (already ranked best first) until ``alternatives`` pass.

    ``admissible`` (the project's policy) is asked just before a mutant would run, not when
    the mutant space is built: a search usually stops after a few dozen of several hundred
    mutants, so checking them all up front would cost more than the search itself.
    """
    result = SearchResult()
    _run_round(mutants, checkers, budget, alternatives, result, progress, admissible)
    if result.fixes or not second_round or budget.expired():
        return result
    doubles = pairs(mutants, result.partial, originals)
    if doubles:
        result.rounds = 2
        _run_round(doubles, checkers, budget, alternatives, result, progress, admissible)
    return result
