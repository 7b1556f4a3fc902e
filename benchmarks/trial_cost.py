"""What one trial costs, cold vs forked, and what that does to the repair search.

Usage:  .venv/bin/python benchmarks/trial_cost.py [--trials 20] [--programs 8]

Part 1, per trial: the same test run of a workspace, ``--trials`` times each way,
interleaved (cold: a fresh sandboxed ``pytest`` process, as every trial ran before;
forked: a child of the warm sandboxed parent of :mod:`theseus.verify.trials`), on a corpus
program's tests and on the two example agents' whole test suites (every test run, as for
a mutant that passes; most mutants stop at their first failing test). Part 2, the repair engine on
the first ``--programs`` programs of its corpus, each searched forked and cold in turn:
seconds to a fix and the verdict on the held-out tests. Every run is in the bwrap sandbox
with all of its protections. Results go to benchmarks/results/trials.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.repair_bench import CORPUS, PROGRAMS, run_program  # noqa: E402
from theseus.propose.repair.runner import forked_trials, run_tests  # noqa: E402

EXAMPLE = HERE.parent / "examples" / "support_agent"
TRAVEL = HERE.parent / "examples" / "travel_agent"
EXAMPLE_TESTS = "python -m pytest -q -p no:cacheprovider tests"


def _workspace(source: Path) -> Path:
    target = Path(tempfile.mkdtemp(prefix="theseus-trials-")) / "ws"
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns(".theseus", "__pycache__", "heldout")
    )
    return target


def per_trial(source: Path, command: str, trials: int) -> dict[str, Any]:
    ws = _workspace(source)
    server = forked_trials(ws, command)
    cold_s: list[float] = []
    forked_s: list[float] = []
    agree = True
    try:
        first = run_tests(ws, command, timeout=120, trials=server)  # starts and warms it
        if not first.forked:
            raise SystemExit(f"{source.name}: forked trials are off: {server.note}")
        for _ in range(trials):
            started = time.perf_counter()
            cold = run_tests(ws, command, timeout=120)
            cold_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            forked = run_tests(ws, command, timeout=120, trials=server)
            forked_s.append(time.perf_counter() - started)
            agree = agree and forked.forked and cold.outcomes == forked.outcomes
    finally:
        server.close()
        shutil.rmtree(ws.parent, ignore_errors=True)
    cold_ms, forked_ms = statistics.median(cold_s) * 1000, statistics.median(forked_s) * 1000
    return {"cold_ms": cold_ms, "forked_ms": forked_ms, "ratio": cold_ms / forked_ms,
            "tests": len(first.outcomes), "agree": agree}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--programs", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "trials.md")
    args = parser.parse_args()
    load_before = os.getloadavg()
    programs = json.loads(CORPUS.read_text())["programs"][: args.programs]
    first = programs[0]
    rows = [
        (f"corpus program {first['name']}", per_trial(PROGRAMS / first["name"], first["test"], args.trials)),
        ("example support agent's tests", per_trial(EXAMPLE, EXAMPLE_TESTS, args.trials)),
        ("example travel agent's tests (openai SDK)", per_trial(TRAVEL, EXAMPLE_TESTS, args.trials)),
    ]  # fmt: skip
    searches = []
    for program in programs:
        forked = run_program(program, args.timeout, 2, forked=True)
        cold = run_program(program, args.timeout, 2, forked=False)
        searches.append((program["name"], forked, cold))
        print(
            program["name"],
            forked["verdict"],
            forked["seconds"],
            cold["verdict"],
            cold["seconds"],
            file=sys.stderr,
        )
    lines = [
        "# Trial cost: cold process vs forked child",
        "",
        f"Command: `.venv/bin/python benchmarks/trial_cost.py --trials {args.trials}"
        f" --programs {args.programs}`",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, Linux {platform.release()}; load average"
        f" {load_before[0]:.1f} at the start. Every run in the bwrap sandbox, all protections on.",
        f"Median of {args.trials} interleaved runs each way (one whole test run per trial).",
        "",
        "| trial of | tests | cold ms | forked ms | cold / forked | same outcomes |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        lines.append(f"| {name} | {r['tests']} | {r['cold_ms']:.0f} | {r['forked_ms']:.0f}"
                     f" | {r['ratio']:.1f}x | {'yes' if r['agree'] else 'NO'} |")  # fmt: skip
    fixed = lambda runs: [r["seconds"] for r in runs if r["verdict"] == "fixed"]  # noqa: E731
    forked_fix, cold_fix = fixed([f for _, f, _ in searches]), fixed([c for _, _, c in searches])
    med = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
    lines += [
        "",
        f"Repair search on the first {len(searches)} corpus programs, each forked then cold:"
        f" fixed {len(forked_fix)} vs {len(cold_fix)}; median seconds to a fix"
        f" {med(forked_fix):.2f} forked vs {med(cold_fix):.2f} cold"
        f" ({med(cold_fix) / med(forked_fix):.1f}x). A fix found in a fork is proved by one"
        " cold run of the command before it counts (included in the forked time).",
        "",
        "| program | forked: verdict, s, candidates | cold: verdict, s, candidates |",
        "|---|---|---|",
    ]
    for name, f, c in searches:
        lines.append(f"| {name} | {f['verdict']}, {f['seconds']}, {f['tried']}"
                     f" | {c['verdict']}, {c['seconds']}, {c['tried']} |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
