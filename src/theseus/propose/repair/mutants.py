"""Mutant generation: every operator at every suspicious statement, parsed, policed, deduped.

A mutant is a set of new file texts plus why it exists (operator, line, description) and
its rank: suspiciousness of the line x the operator's prior x a small naturalness factor
(fewer tokens changed ranks higher). Mutants are produced per location in rank order of
locations, so the search can start validating before the whole space is built.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
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
) -> Iterator[Mutant]:
    """Single-edit mutants, location by location (best location first)."""
    editors: dict[str, Editor] = {}
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
