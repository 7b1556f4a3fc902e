"""Where a wrong answer's run went its own way: the label that splits semantic failures by cause.

Given the mutable functions each input ran (:mod:`theseus.verify.fingerprint`), a failure's
*divergence* is the set of functions it ran that not every call of its function ran (the
calls that went right included): the code particular to its path. The entrypoint and the
helpers every request touches drop out, and what remains names where the bug can be.

Failures whose divergences are nested (one a subset of another) are one cause seen from more
or less far; they are merged, and the cluster is named by the functions all its members ran
(stable as more evidence arrives: a new, longer path joins under the same name). Disjoint
paths are different causes and become different batches. A failure with no known path keeps
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


def _clusters(sets: set[frozenset[str]]) -> dict[frozenset[str], str]:
    """Each set -> the name of its cluster (nested sets merged; the empty set alone)."""
    items = sorted(sets, key=lambda s: (len(s), sorted(s)))
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(items):
        for j in range(i + 1, len(items)):
            b = items[j]
            if a and b and (a <= b or b <= a):
                parent[root(j)] = root(i)
    members: dict[int, list[frozenset[str]]] = {}
    for i, item in enumerate(items):
        members.setdefault(root(i), []).append(item)
    names: dict[frozenset[str], str] = {}
    for group in members.values():
        shared = frozenset.intersection(*group) if group else frozenset()
        if not shared and group[0]:
            shared = group[0]  # nested only pairwise: name it by its smallest path
        name = ", ".join(sorted(shared))
        for item in group:
            names[item] = name
    return names
