"""Spectrum-based fault localisation: which lines do failing tests run that passing ones don't.

From per-test line coverage (recorded by the pytest plugin) each line gets four counts:
``ef``/``ep`` the failing/passing tests that executed it, ``nf``/``np`` those that did not.
Ochiai and DStar turn the counts into a suspiciousness. This is what localises a bug that
raises nothing (a wrong result): the lines only the failing tests run rise to the top.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Line = tuple[str, int]  # (path relative to the project root, 1-based line number)


@dataclass(frozen=True)
class Counts:
    ef: int
    ep: int
    nf: int
    np: int


def ochiai(c: Counts) -> float:
    denom = math.sqrt((c.ef + c.nf) * (c.ef + c.ep))
    return c.ef / denom if denom else 0.0


def dstar(c: Counts, star: int = 2) -> float:
    denom = c.ep + c.nf
    if denom == 0:
        return float(c.ef**star) * 10.0 if c.ef else 0.0
    return float(c.ef**star) / denom


def spectrum_counts(
    lines_by_test: Mapping[str, Mapping[str, Sequence[int]]],
    failed: Sequence[str],
    passed: Sequence[str],
    keep: frozenset[str] | None = None,
) -> dict[Line, Counts]:
    """Per-line counts; ``keep`` restricts to these paths (the mutable files)."""
    failed_set, passed_set = set(failed), set(passed)
    ef: dict[Line, int] = {}
    ep: dict[Line, int] = {}
    for test, files in lines_by_test.items():
        target = ef if test in failed_set else ep if test in passed_set else None
        if target is None:
            continue
        for path, numbers in files.items():
            if keep is not None and path not in keep:
                continue
            for number in set(numbers):
                target[(path, number)] = target.get((path, number), 0) + 1
    total_f, total_p = len(failed_set), len(passed_set)
    counts: dict[Line, Counts] = {}
    for line in set(ef) | set(ep):
        f, p = ef.get(line, 0), ep.get(line, 0)
        counts[line] = Counts(ef=f, ep=p, nf=total_f - f, np=total_p - p)
    return counts


def rank(counts: Mapping[Line, Counts], formula: str = "ochiai") -> dict[Line, float]:
    """Suspiciousness in [0, 1] per line (DStar is normalised by its maximum)."""
    if formula == "ochiai":
        return {line: ochiai(c) for line, c in counts.items()}
    raw = {line: dstar(c) for line, c in counts.items()}
    top = max(raw.values(), default=0.0)
    return {line: (v / top if top else 0.0) for line, v in raw.items()}
