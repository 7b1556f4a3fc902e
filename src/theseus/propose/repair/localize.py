"""Fault localisation: combine traceback frames and the coverage spectrum into ranked lines.

Two sources, because each misses what the other sees. A traceback names the line that
raised, and its callers (less and less likely to hold the bug as they get farther from the
failure, hence the depth weighting); it says nothing when the bug is a wrong result. The
spectrum (Ochiai / DStar over per-test coverage) finds lines that only failing tests run,
which localises wrong results, but ties many lines on a short program. Together: the
traceback breaks the spectrum's ties, the spectrum covers what raises nothing.

Scores are per *statement*: any line inside a multi-line statement maps to the statement's
first line, which is where the mutation operators work.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from theseus import _pyast as pyast
from theseus.propose.repair.spectrum import Line

_PY_FRAME = re.compile(r'File "(?P<file>[^"]+\.py)", line (?P<line>\d+), in (?P<func>[^\s]+)')
_PYTEST_FRAME = re.compile(r"^(?P<file>[^\s:]+\.py):(?P<line>\d+): (?:in (?P<func>\S+)|\w+)", re.M)
DEPTH_DECAY = 0.7
NEIGHBOUR_WEIGHT = 0.3
TRACE_SHARE = 0.45


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    score: float
    sources: tuple[str, ...] = field(default=())


def parse_frames(output: str) -> list[tuple[str, int, str]]:
    """Frames named in a test run's text output (Python tracebacks and pytest's short form),
    in the order they appear (outermost first within each traceback)."""
    found: list[tuple[str, int, str]] = []
    for pattern in (_PY_FRAME, _PYTEST_FRAME):
        for match in pattern.finditer(output):
            found.append((match["file"], int(match["line"]), match["func"] or ""))
    return found


class StatementIndex:
    """Maps any line of a source file to the first line of the innermost statement on it,
    and knows each statement's enclosing function (for neighbour weighting)."""

    def __init__(self, source: str) -> None:
        self.first: dict[int, int] = {}
        self.function_lines: dict[int, list[int]] = {}
        try:
            tree = pyast.parse(source)
        except SyntaxError:
            return
        self._walk(tree.body, None)

    def _walk(self, body: Iterable[ast.stmt], func: int | None) -> None:
        for stmt in body:
            end = stmt.end_lineno or stmt.lineno
            header_end = _header_end(stmt)
            for number in range(stmt.lineno, (header_end or end) + 1):
                self.first[number] = stmt.lineno
            owner = func
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                owner = stmt.lineno
                self.function_lines[owner] = []
            elif func is not None:
                self.function_lines[func].append(stmt.lineno)
            for name in ("body", "orelse", "finalbody"):
                child = getattr(stmt, name, None)
                if isinstance(child, list):
                    self._walk(child, owner)
            for handler in getattr(stmt, "handlers", []):
                self._walk(handler.body, owner)
            for case in getattr(stmt, "cases", []):
                self._walk(case.body, owner)

    def statement_of(self, line: int) -> int | None:
        return self.first.get(line)

    def siblings(self, line: int) -> list[int]:
        for lines in self.function_lines.values():
            if line in lines:
                return lines
        return []


def _header_end(stmt: ast.stmt) -> int | None:
    """Last line of a compound statement's header (its test / iterator), None if simple."""
    body = getattr(stmt, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        return max(stmt.lineno, body[0].lineno - 1)
    return None


def traceback_scores(
    traces: Sequence[Sequence[tuple[str, int, str]]],
    mutable: Mapping[str, StatementIndex],
) -> dict[Line, float]:
    """Innermost mutable frame scores 1, each frame outward DEPTH_DECAY times less; the other
    statements of the innermost frame's function get a little (the bug is often just above
    the line that raised). Averaged over traces so a line in every trace wins."""
    total: dict[Line, float] = {}
    for trace in traces:
        inside = [(p, n) for p, n, _ in trace if p in mutable]
        seen: dict[Line, float] = {}
        for depth, (path, number) in enumerate(reversed(inside)):
            stmt = mutable[path].statement_of(number)
            if stmt is None:
                continue
            weight = DEPTH_DECAY**depth
            seen[(path, stmt)] = max(seen.get((path, stmt), 0.0), weight)
            if depth == 0:
                for sibling in mutable[path].siblings(stmt):
                    if sibling < stmt:
                        near = NEIGHBOUR_WEIGHT * (0.9 ** (stmt - sibling))
                        seen[(path, sibling)] = max(seen.get((path, sibling), 0.0), near)
        for line, weight in seen.items():
            total[line] = total.get(line, 0.0) + weight / max(1, len(traces))
    return total


def combine(
    spectrum: Mapping[Line, float],
    trace: Mapping[Line, float],
    mutable: Mapping[str, StatementIndex],
) -> list[Location]:
    """One ranked list; only statement lines of mutable files, best first."""
    share = TRACE_SHARE if spectrum and trace else (1.0 if trace else 0.0)
    merged: dict[Line, tuple[float, set[str]]] = {}
    for source, scores, weight in (("spectrum", spectrum, 1.0 - share), ("trace", trace, share)):
        best: dict[Line, float] = {}  # max per statement: a multi-line one counts once
        for (path, number), score in scores.items():
            index = mutable.get(path)
            stmt = index.statement_of(number) if index else None
            if stmt is not None and score > 0:
                best[(path, stmt)] = max(best.get((path, stmt), 0.0), score)
        for line, score in best.items():
            old, names = merged.get(line, (0.0, set()))
            merged[line] = (old + weight * score, names | {source})
    ranked = [
        Location(path, line, round(score, 6), tuple(sorted(names)))
        for (path, line), (score, names) in merged.items()
    ]
    ranked.sort(key=lambda loc: (-loc.score, loc.path, loc.line))
    return ranked
