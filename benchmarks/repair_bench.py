"""Benchmark of the search-based repair engine on its own corpus (and the example agent's
seeded bugs when examples/support_agent/seeded_bugs.json exists).

Per program: copy it (without its held-out tests) to a temporary folder, run the engine
with the program's test command, then judge the fix with the held-out tests the engine
never saw: fixed (passes them), plausible-but-wrong (passes the given tests, fails the
held-out ones) or not fixed. ``--check-corpus`` first proves every program is sound: its
given tests fail on the bug, and its reference fix passes the given and held-out tests.

    .venv/bin/python benchmarks/repair_bench.py [--only p01_clamp,p02_running_max]
        [--timeout 60] [--workers 2] [--check-corpus] [--out benchmarks/results/repair.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from theseus.errors import TheseusError
from theseus.propose.repair.engine import RepairOptions, repair

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "repair" / "corpus.json"
PROGRAMS = HERE / "repair" / "programs"
SEEDED = HERE.parent / "examples" / "support_agent" / "seeded_bugs.json"
HELDOUT = "python -m pytest -q -p no:cacheprovider heldout"


def base_env() -> dict[str, str]:
    """The environment of the benchmark's own (trusted, unsandboxed) runs of held-out tests:
    no bytecode caches (a same-size mutant written in the same second would otherwise load
    stale bytecode), no evidence recording, and this interpreter's folder first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["THESEUS_RECORD"] = "0"
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("COVERAGE_PROCESS_START", None)
    return env


def _pytest(folder: Path, command: str) -> bool:
    done = subprocess.run(
        ["/bin/sh", "-c", command], cwd=folder, env=base_env(), capture_output=True, timeout=120
    )
    return done.returncode == 0


def _copy(src: Path, with_heldout: bool) -> Path:
    target = Path(tempfile.mkdtemp(prefix="repair-bench-")) / src.name
    ignore = ["__pycache__", ".theseus-repair"] + ([] if with_heldout else ["heldout"])
    shutil.copytree(src, target, ignore=shutil.ignore_patterns(*ignore))
    return target


def check_program(program: dict[str, Any]) -> str | None:
    """None when the program is sound, else what is wrong with it."""
    folder = _copy(PROGRAMS / program["name"], with_heldout=True)
    try:
        if _pytest(folder, program["test"]):
            return "given tests pass on the bug"
        ref = program["reference_fix"]
        path = folder / ref["path"]
        path.write_text(path.read_text().replace(ref["old"], ref["new"]))
        if not _pytest(folder, program["test"]):
            return "reference fix fails the given tests"
        if not _pytest(folder, HELDOUT):
            return "reference fix fails the held-out tests"
        return None
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


def run_program(
    program: dict[str, Any], timeout: float, workers: int, *, forked: bool = True
) -> dict[str, Any]:
    folder = _copy(PROGRAMS / program["name"], with_heldout=False)
    try:
        options = RepairOptions(
            test_command=program["test"], mutable=program["mutable"], timeout=timeout,
            workers=workers, forked=forked,
        )  # fmt: skip
        result = repair(folder, options)
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
    verdict = "not_fixed"
    if result.fix is not None:
        judged = _copy(PROGRAMS / program["name"], with_heldout=True)
        try:
            for path, text in result.fix.texts:
                (judged / path).write_text(text)
            ok = _pytest(judged, program["test"]) and _pytest(judged, HELDOUT)
            verdict = "fixed" if ok else "plausible_wrong"
        finally:
            shutil.rmtree(judged.parent, ignore_errors=True)
    return {
        "name": program["name"], "kind": program["kind"], "verdict": verdict,
        "seconds": round(result.seconds, 2), "tried": result.candidates_tried,
        "edit": result.description, "rounds": result.rounds,
    }  # fmt: skip


def run_seeded(bug: dict[str, Any], timeout: float, workers: int) -> dict[str, Any]:
    """One seeded bug of the example agent, with replay-style tests (see repair/seeded.py)."""
    from repair import seeded

    work, given, held = seeded.prepare(bug, base_env())
    test = "python -m pytest -q -p no:cacheprovider tests"
    row = {"name": f"agent:{bug['id']}", "kind": bug["kind"], "rounds": 1, "tried": 0,
           "seconds": 0.0, "edit": ""}  # fmt: skip
    try:
        (work / "tests" / "test_replay_given.py").write_text(given)
        options = RepairOptions(test_command=test, mutable=seeded.mutable_globs(),
                                timeout=timeout, workers=workers)  # fmt: skip
        try:
            result = repair(work, options)
        except TheseusError as exc:
            return {**row, "verdict": f"unsound: {exc.line()}"}
        verdict = "not_fixed"
        if result.fix is not None:
            for path, text in result.fix.texts:
                (work / path).write_text(text)
            (work / "tests" / "test_replay_heldout.py").write_text(held)
            verdict = "fixed" if _pytest(work, test) else "plausible_wrong"
        return {**row, "verdict": verdict, "seconds": round(result.seconds, 2),
                "tried": result.candidates_tried, "edit": result.description,
                "rounds": result.rounds}  # fmt: skip
    finally:
        shutil.rmtree(work.parent, ignore_errors=True)


def summary(title: str, rows: list[dict[str, Any]]) -> list[str]:
    """Counts and medians of one group of rows (the corpus, or the agent's seeded bugs)."""
    fixed = [r for r in rows if r["verdict"] == "fixed"]
    wrong = [r for r in rows if r["verdict"] == "plausible_wrong"]
    single = [r for r in fixed if r["rounds"] == 1]
    med = statistics.median([r["seconds"] for r in fixed]) if fixed else float("nan")
    med1 = statistics.median([r["seconds"] for r in single]) if single else float("nan")
    tried = statistics.median([r["tried"] for r in fixed]) if fixed else 0
    patches = len(fixed) + len(wrong)
    return [
        f"**{title}**: {len(rows)} bugs; fixed (passes held-out tests): {len(fixed)}"
        f" ({100 * len(fixed) / max(1, len(rows)):.0f}%); plausible-but-wrong: {len(wrong)}"
        f" ({100 * len(wrong) / max(1, patches):.0f}% of patches); not fixed:"
        f" {len(rows) - len(fixed) - len(wrong)}. Median seconds to a correct fix: {med:.1f}"
        f" (single-edit: {med1:.1f}); median candidates tried per fix: {tried}.",
        "",
    ]


def report(rows: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> str:
    corpus = [r for r in rows if not r["name"].startswith("agent:")]
    agent = [r for r in rows if r["name"].startswith("agent:")]
    lines = [
        "# Repair engine benchmark",
        "",
        f"Command: `.venv/bin/python benchmarks/repair_bench.py --timeout {args.timeout:g}"
        f" --workers {args.workers}` (every test run in the sandbox, theseus.verify.sandbox).",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs),"
        f" Python {platform.python_version()}; wall time {wall:.0f}s.",
        "",
        *summary("Own corpus (benchmarks/repair/programs)", corpus),
        *(summary("Example agent's seeded bugs (replay-style tests)", agent) if agent else []),
        "| program | bug kind | verdict | seconds | candidates | edit |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        edit = r["edit"].replace("|", "\\|")
        lines.append(
            f"| {r['name']} | {r['kind']} | {r['verdict']} | {r['seconds']} | {r['tried']} | {edit} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated program names")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--check-corpus", action="store_true")
    parser.add_argument("--no-corpus", action="store_true", help="only the seeded agent bugs")
    parser.add_argument("--no-seeded", action="store_true", help="skip the seeded agent bugs")
    parser.add_argument("--out", default=str(HERE / "results" / "repair.md"))
    args = parser.parse_args()
    programs = json.loads(CORPUS.read_text())["programs"]
    if args.no_corpus:
        programs = []
    if args.only:
        wanted = set(args.only.split(","))
        programs = [p for p in programs if p["name"] in wanted]
    if args.check_corpus:
        bad = {p["name"]: why for p in programs if (why := check_program(p))}
        for name, why in bad.items():
            print(f"unsound: {name}: {why}", file=sys.stderr)
        if bad:
            return 1
    start = time.monotonic()
    rows = []
    for program in programs:
        row = run_program(program, args.timeout, args.workers)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if SEEDED.is_file() and not args.no_seeded and not args.only:
        sys.path.insert(0, str(HERE))
        from repair import seeded

        for bug in seeded.load_bugs():
            row = run_seeded(bug, args.timeout, args.workers)
            print(json.dumps(row), flush=True)
            rows.append(row)
    text = report(rows, args, time.monotonic() - start)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
