"""Mutant generation: every operator at every suspicious statement, parsed, policed, deduped.

A mutant is a set of new file texts plus why it exists (operator, line, description) and
its rank: suspiciousness of the line x the operator's prior x a small naturalness factor
(fewer tokens changed ranks higher). :class:`RankedMutants` builds them location by
location only as far as the search reads, yet hands them out in exactly the order a sort of
the whole space would: a search usually stops after a few dozen of a thousand or more.
"""

from __future__ import annotations

import ast
import difflib
import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from theseus import _pyast as pyast
from theseus.change.diffs import diff_texts
from theseus.propose.repair.edit import Change, Editor
from theseus.propose.repair.localize import Location
from theseus.propose.repair.operators import EXPRESSION_OPERATORS, Operator
from theseus.propose.repair.scope import scope_at
from theseus.propose.repair.stmt_operators import STATEMENT_OPERATORS

ALL_OPERATORS: tuple[Operator, ...] = EXPRESSION_OPERATORS + STATEMENT_OPERATORS
MAX_PER_STATEMENT = 120
MAX_PRIOR = 1.0
"""No operator's prior is above this (tests check it): the lazy ranking's bound."""


@dataclass(frozen=True)
class Mutant:
    texts: tuple[tuple[str, str], ...]  # (path, new text), sorted by path
    edits: tuple[tuple[str, Change], ...]  # (path, change) for each edit, 1 or 2
    suspiciousness: float

    @property
    def prior(self) -> float:
        result = 1.0
        for _, change in self.edits:
            result *= change.prior
        return result

    @property
    def tokens(self) -> int:
        return sum(change.tokens for _, change in self.edits)

    @property
    def score(self) -> float:
        return self.suspiciousness * self.prior / (1.0 + 0.02 * self.tokens)

    @property
    def operator(self) -> str:
        return "+".join(change.operator for _, change in self.edits)

    @property
    def description(self) -> str:
        return "; ".join(f"{path}:{c.line}: {c.description}" for path, c in self.edits)

    def diff(self, originals: Mapping[str, str]) -> str:
        return diff_texts({p: originals[p] for p, _ in self.texts}, dict(self.texts))


def statements_at(tree: ast.Module, line: int) -> list[ast.stmt]:
    """The statements that start on ``line``, outermost first."""
    return [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and n.lineno == line]


def changes_at(editor: Editor, line: int) -> list[Change]:
    """Every proven change any operator makes to the statements starting on ``line``; an
    edit that leaves the module as it was (moving a statement past its twin) is none."""
    found: dict[str, Change] = {}
    for stmt in statements_at(editor.tree, line):
        scope = scope_at(editor.tree, stmt)
        for operator in ALL_OPERATORS:
            for change in operator(editor, stmt, scope):
                if change.new_source == editor.source:
                    continue
                old = found.get(change.new_source)
                if old is None or old.prior < change.prior:
                    found[change.new_source] = change
    ranked = sorted(found.values(), key=lambda c: (-c.prior, c.tokens, c.description))
    return ranked[:MAX_PER_STATEMENT]


def generate(
    sources: Mapping[str, str],
    locations: Iterable[Location],
    *,
    policy_check: Callable[[str], bool] | None = None,
    seen: set[str] | None = None,
    editors: dict[str, Editor] | None = None,
) -> Iterator[Mutant]:
    """Single-edit mutants, location by location (best location first)."""
    editors = {} if editors is None else editors
    seen = set() if seen is None else seen
    for location in locations:
        if location.path not in editors:
            try:
                editors[location.path] = Editor(location.path, sources[location.path])
            except (SyntaxError, ValueError, KeyError):
                continue
        for change in changes_at(editors[location.path], location.line):
            key = f"{location.path}\0{change.new_source}"
            if key in seen:
                continue
            seen.add(key)
            mutant = Mutant(
                ((location.path, change.new_source),), ((location.path, change),), location.score
            )
            if policy_check is not None and not policy_check(mutant.diff(sources)):
                continue
            yield mutant


class RankedMutants:
    """Single-edit mutants best score first, built only as far as they are read.

    A location's mutants score at most its suspiciousness x :data:`MAX_PRIOR` / 1.02 (one
    token changed), so before handing out the best mutant built so far, every location that
    could still beat or tie it is built; ties go to the earlier location, then the earlier
    change, as a stable sort of the whole list would order them.
    """

    def __init__(
        self,
        sources: Mapping[str, str],
        locations: Sequence[Location],
        *,
        policy_check: Callable[[str], bool] | None = None,
        seen: set[str] | None = None,
    ) -> None:
        self._sources, self._locations = sources, list(locations)
        self._policy_check, self._seen = policy_check, set() if seen is None else seen
        self._editors: dict[str, Editor] = {}
        # the best score any location from i on can still give
        self._bounds = [0.0] * (len(self._locations) + 1)
        for i in range(len(self._locations) - 1, -1, -1):
            bound = self._locations[i].score * MAX_PRIOR / 1.02
            self._bounds[i] = max(bound, self._bounds[i + 1])
        self._next = 0
        self._heap: list[tuple[float, int, Mutant]] = []
        self._made = 0
        self._out: list[Mutant] = []

    @property
    def built(self) -> int:
        """How many mutants exist so far (handed out or waiting)."""
        return self._made

    def at(self, index: int) -> Mutant | None:
        """The ``index``-th best mutant, or None past the last."""
        while len(self._out) <= index:
            while self._next < len(self._locations) and (
                not self._heap or self._bounds[self._next] >= -self._heap[0][0]
            ):
                self._build(self._locations[self._next])
                self._next += 1
            if not self._heap:
                return None
            self._out.append(heapq.heappop(self._heap)[2])
        return self._out[index]

    def __iter__(self) -> Iterator[Mutant]:
        index = 0
        while (mutant := self.at(index)) is not None:
            yield mutant
            index += 1

    def _build(self, location: Location) -> None:
        one = generate(
            self._sources, [location], policy_check=self._policy_check, seen=self._seen,
            editors=self._editors,
        )  # fmt: skip
        for mutant in one:
            heapq.heappush(self._heap, (-mutant.score, self._made, mutant))
            self._made += 1


def combine(first: Mutant, second: Mutant, originals: Mapping[str, str]) -> Mutant | None:
    """Two single edits as one mutant, when they touch different lines (a second round)."""
    texts = dict(first.texts)
    for path, text in second.texts:
        if path in texts:
            merged = merge_texts(originals[path], texts[path], text)
            if merged is None:
                return None
            texts[path] = merged
        else:
            texts[path] = text
    for text in texts.values():
        try:
            pyast.parse(text)
        except SyntaxError:
            return None
    susp = (first.suspiciousness + second.suspiciousness) / 2
    return Mutant(tuple(sorted(texts.items())), first.edits + second.edits, susp)


def merge_texts(original: str, a: str, b: str) -> str | None:
    """Apply the line changes of ``a`` and of ``b`` (both against ``original``) together;
    None when they overlap."""
    base = original.splitlines(keepends=True)
    ops_a = _changed(base, a.splitlines(keepends=True))
    ops_b = _changed(base, b.splitlines(keepends=True))
    for s1, e1, _ in ops_a:
        for s2, e2, _ in ops_b:
            if s1 <= e2 and s2 <= e1:
                return None
    out = list(base)
    for start, end, lines in sorted(ops_a + ops_b, key=lambda op: op[0], reverse=True):
        out[start:end] = lines
    return "".join(out)


def _changed(base: list[str], new: list[str]) -> list[tuple[int, int, list[str]]]:
    matcher = difflib.SequenceMatcher(a=base, b=new, autojunk=False)
    return [(i1, i2, new[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]
