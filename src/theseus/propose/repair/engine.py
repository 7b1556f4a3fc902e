"""The repair engine end to end: baseline run, localise, generate, search, report.

:func:`repair` is what ``theseus repair`` runs on any Python project; it needs only a
folder, a test command that fails, and globs naming the files it may change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from theseus._scratch import release_scratch
from theseus.errors import RepairInputError
from theseus.paths import rules_from
from theseus.propose.base import SearchBudget
from theseus.propose.repair.localize import (
    Location,
    StatementIndex,
    combine,
    parse_frames,
    traceback_scores,
)
from theseus.propose.repair.mutants import Mutant, RankedMutants
from theseus.propose.repair.runner import TrialRun, forked_trials, run_tests
from theseus.propose.repair.search import SearchProgress, search
from theseus.propose.repair.spectrum import rank, spectrum_counts
from theseus.propose.repair.validate import Worker, copy_project
from theseus.verify.trials import ForkedTrials

# Tests are the oracle: a "fix" that edits them proves nothing, so they are never mutable
# unless a caller says otherwise (as policy.allow_test_changes does in the Theseus flow).
TEST_FILES = ("**/test_*.py", "**/*_test.py", "**/conftest.py", "tests/**", "test/**")


@dataclass
class RepairOptions:
    test_command: str
    mutable: Sequence[str]
    protected: Sequence[str] = ()
    timeout: float = 120.0
    workers: int = 2
    max_candidates: int = 2000
    top_locations: int = 20
    alternatives: int = 1
    second_round: bool = True
    test_timeout: float | None = None
    formula: str = "ochiai"
    policy_check: Callable[[str], bool] | None = None
    extra_frames: Sequence[Sequence[tuple[str, int, str]]] = ()
    allow_test_changes: bool = False
    forked: bool = True  # trials fork a warm sandboxed pytest parent (verify/trials.py)
    confirm_forked: bool = True  # prove a fix found in a fork by one cold run before it counts


@dataclass
class RepairResult:
    status: str
    diff: str
    candidates_tried: int
    seconds: float
    description: str = ""
    operator: str = ""
    failing_tests: list[str] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    mutants: int = 0
    rounds: int = 1
    timed_out: bool = False
    notes: list[str] = field(default_factory=list)  # e.g. why trials ran cold
    forked_trials: int = 0
    fix: Mutant | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds: baseline, mutants, search

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "diff": self.diff,
            "candidates_tried": self.candidates_tried,
            "seconds": round(self.seconds, 3),
            "description": self.description,
            "operator": self.operator,
            "failing_tests": self.failing_tests,
            "locations": [
                {
                    "path": loc.path,
                    "line": loc.line,
                    "score": loc.score,
                    "sources": list(loc.sources),
                }
                for loc in self.locations[:10]
            ],
            "alternatives": self.alternatives,
            "mutants": self.mutants,
            "rounds": self.rounds,
            "notes": self.notes,
            "forked_trials": self.forked_trials,
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
            "timed_out": self.timed_out,
        }


def _baseline(
    workspace: Path, options: RepairOptions, files: list[str], *, trials: ForkedTrials | None
) -> TrialRun:
    timeout = options.test_timeout or max(10.0, options.timeout / 2)
    run = run_tests(workspace, options.test_command, timeout=timeout, cover=files, trials=trials)
    tail = (run.output.strip().splitlines() or [""])[-1][:200]
    if run.timed_out:
        raise RepairInputError(
            f"test command timed out after {timeout:.0f}s on the unchanged code",
            hint="pass a faster --test command or a larger --timeout",
        )
    if run.returncode in (126, 127):
        raise RepairInputError(
            f"test command cannot run (exit {run.returncode}): {tail}",
            hint="check the --test command; it runs with /bin/sh in the project folder",
        )
    if run.passed:
        raise RepairInputError(
            "test command passes on the unchanged code: there is nothing to repair",
            hint="give a --test command that fails because of the bug",
        )
    if run.report is not None and not run.outcomes:
        raise RepairInputError(
            f"test command ran no test (exit {run.returncode}): {tail}",
            hint="fix the collection error or the test selection in --test",
        )
    return run


def localise(run: TrialRun, sources: dict[str, str], options: RepairOptions) -> list[Location]:
    """Ranked statements from the baseline run's spectrum and tracebacks."""
    indexes = {path: StatementIndex(text) for path, text in sources.items()}
    spectrum: dict[tuple[str, int], float] = {}
    traces: list[list[tuple[str, int, str]]] = [list(t) for t in options.extra_frames]
    if run.report is not None:
        lines = run.report.get("lines", {})
        counts = spectrum_counts(
            lines, run.failed_tests(), run.passed_tests(), keep=frozenset(sources)
        )
        spectrum = rank(counts, options.formula)
        for frames in run.report.get("frames", {}).values():
            traces.append([(str(f[0]), int(f[1]), str(f[2])) for f in frames])
    if not traces:
        parsed = parse_frames(run.output)
        if parsed:
            traces.append(parsed)
    trace = traceback_scores(traces, indexes)
    ranked = combine(spectrum, trace, indexes)
    if not ranked:  # nothing observed: every statement of every mutable file, in order
        ranked = [
            Location(path, line, 0.1, ("fallback",))
            for path, index in indexes.items()
            for line in sorted(set(index.first.values()))
        ]
    return ranked


def _admissible(
    policy_check: Callable[[str], bool] | None, sources: Mapping[str, str]
) -> Callable[[Mutant], bool] | None:
    if policy_check is None:
        return None
    check = policy_check
    return lambda mutant: check(mutant.diff(sources))


def repair(
    root: Path, options: RepairOptions, *, progress: SearchProgress | None = None
) -> RepairResult:
    """Find a minimal edit of the mutable files that makes the test command pass."""
    started = time.monotonic()
    budget = SearchBudget.from_seconds(options.timeout, options.max_candidates)
    root = root.resolve()
    protected = [*options.protected, *([] if options.allow_test_changes else TEST_FILES)]
    rules = rules_from(root, options.mutable, protected)
    files = [f for f in rules.mutable_files() if f.endswith(".py")]
    if not files:
        raise RepairInputError(
            f"no Python file under {root} matches --mutable {' '.join(options.mutable)}"
            " (test files never count)",
            hint="globs are relative to DIR, e.g. --mutable 'src/**/*.py'",
        )
    sources = {f: (root / f).read_text(encoding="utf-8") for f in files}
    workspaces = [copy_project(root) for _ in range(max(1, options.workers))]
    servers = (
        [forked_trials(ws, options.test_command) for ws in workspaces] if options.forked else []
    )
    # The baseline runs through the first worker's trial server when that warms up quickly
    # (an earlier server taught it what the tests import), the others warming after it;
    # else cold, while every server warms up beside it.
    quick = servers[0] if servers and servers[0].preloaded else None
    for server in servers[:1] if quick else servers:
        server.start_in_background()
    try:
        phases: dict[str, float] = {}
        mark = time.monotonic()
        base = _baseline(workspaces[0], options, files, trials=quick)
        for server in servers[1:] if quick else []:
            server.start_in_background()
        phases["baseline"], mark = time.monotonic() - mark, time.monotonic()
        locations = localise(base, sources, options)
        seen: set[str] = set()
        mutants = RankedMutants(sources, locations[: options.top_locations], seen=seen)
        mutants.at(0)  # the first ones now, the rest as the search reads them
        phases["mutants"], mark = time.monotonic() - mark, time.monotonic()
        timeout = options.test_timeout or max(5.0, 4 * base.duration + 2)
        checkers = [
            Worker(ws, options.test_command, sources, failing=base.failed_tests(),
                   passing=base.passed_tests(), timeout=timeout,
                   trials=servers[i] if servers else None, confirm=options.confirm_forked)
            for i, ws in enumerate(workspaces)
        ]  # fmt: skip
        found = search(
            mutants, checkers, budget, originals=sources, alternatives=options.alternatives,
            second_round=options.second_round, progress=progress,
            admissible=_admissible(options.policy_check, sources),
        )  # fmt: skip
        phases["search"] = time.monotonic() - mark
    finally:
        notes = list(dict.fromkeys(s.note for s in servers if s.note))
        forked_count = sum(s.trials for s in servers)
        for server in servers:
            server.close()
        for ws in workspaces:
            release_scratch(ws.parent)
    best = found.best()
    return RepairResult(
        status="fixed" if best else "not_fixed",
        diff=best.diff(sources) if best else "",
        candidates_tried=found.tried,
        seconds=time.monotonic() - started,
        description=best.description if best else "",
        operator=best.operator if best else "",
        failing_tests=base.failed_tests(),
        locations=locations,
        alternatives=[
            m.diff(sources)
            for m in sorted(found.fixes, key=lambda m: (len(m.edits), m.tokens, -m.prior))
            if m is not best
        ],
        mutants=mutants.built,
        rounds=found.rounds,
        timed_out=found.timed_out,
        fix=best,
        notes=notes,
        forked_trials=forked_count,
        phases=phases,
    )
