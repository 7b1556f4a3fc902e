"""Where a wrong answer's run went its own way: the label that splits semantic failures by cause.

Given the mutable functions each input ran (:mod:`theseus.verify.fingerprint`), a failure's
*divergence* is the set of functions it ran that not every call of its function ran (the
calls that went right included): the code particular to its path. The entrypoint and the
helpers every request touches drop out, and what remains names where the bug can be.

Failures whose divergences are nested (one a subset of another) or mostly the same (a
currency conversion run for some inputs, a sort key for results of more than one) are one
cause seen through different data; they are merged, and the cluster is named by the
functions all its members ran (a new, longer path joins under the same name). Paths that
share little are different causes and become different batches. A failure with no known path keeps
the plain (kind, function) signature.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

__all__ = ["divergence_labels"]


def divergence_labels(
    failing: Iterable[str], function_of: Mapping[str, str], paths: Mapping[str, Sequence[str]]
) -> dict[str, str]:
    """Failing task id -> its cluster's label, every function of it (``"a.py:f, b.py:g"``;
    ``""`` when its run was all common code). ``function_of`` maps every task id in ``paths`` to its recorded
    function; tasks without a path get no label."""
    common: dict[str, set[str]] = {}
    for task, ran in paths.items():
        function = function_of.get(task)
        if function is None:
            continue
        if function in common:
            common[function] &= set(ran)
        else:
            common[function] = set(ran)
    diverged: dict[str, frozenset[str]] = {}
    for task in failing:
        if task in paths and task in function_of:
            diverged[task] = frozenset(paths[task]) - common[function_of[task]]
    labels: dict[str, str] = {}
    by_function: dict[str, list[str]] = {}
    for task in diverged:
        by_function.setdefault(function_of[task], []).append(task)
    for tasks in by_function.values():
        clusters = _clusters({diverged[t] for t in tasks})
        for task in tasks:
            labels[task] = clusters[diverged[task]]
    return labels


SIMILAR = 0.6
"""Paths whose cores share this much (Jaccard) are one cause seen through different data."""


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _clusters(sets: set[frozenset[str]]) -> dict[frozenset[str], str]:
    """Each set -> the name of its cluster.

    Agglomerative: start with one cluster per distinct path; repeatedly merge the two whose
    cores (the functions all their members ran) are most alike, while that likeness is at
    least :data:`SIMILAR` (a nested path is alike enough when it adds little). A path that
    is all common code (the empty set) stays alone. The name is the core.
    """
    clusters: list[tuple[frozenset[str], list[frozenset[str]]]] = [
        (item, [item]) for item in sorted(sets, key=lambda s: (len(s), sorted(s)))
    ]
    while True:
        best: tuple[float, int, int] | None = None
        for i, (core_a, _) in enumerate(clusters):
            for j in range(i + 1, len(clusters)):
                core_b = clusters[j][0]
                if not core_a or not core_b:
                    continue
                nested = core_a <= core_b or core_b <= core_a
                score = max(_jaccard(core_a, core_b), SIMILAR if nested else 0.0)
                if score >= SIMILAR and (best is None or score > best[0]):
                    best = (score, i, j)
        if best is None:
            break
        _, i, j = best
        (core_a, members_a), (core_b, members_b) = clusters[i], clusters[j]
        merged = (core_a & core_b, members_a + members_b)
        clusters = [c for k, c in enumerate(clusters) if k not in (i, j)] + [merged]
    names: dict[frozenset[str], str] = {}
    for core, members in clusters:
        name = ", ".join(sorted(core))
        for item in members:
            names[item] = name
    return names
