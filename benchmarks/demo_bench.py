"""The whole product on the bundled example: runs `theseus demo --json` several times and
writes benchmarks/results/demo.md (median wall time and fixes, each run, and each seeded bug
fixed with the reference fix or differently).

The side-by-side comparison is the demo's own: the first traffic (same seed, same
requests) replayed against the final version, failures before vs after.

    .venv/bin/python benchmarks/demo_bench.py              # 3 runs (~8 minutes)
    .venv/bin/python benchmarks/demo_bench.py --runs 5
    .venv/bin/python benchmarks/demo_bench.py --load 2    # 2 CPU-burning processes beside it
    .venv/bin/python benchmarks/demo_bench.py --from-json A.json B.json   # only render
    .venv/bin/python benchmarks/demo_bench.py --example travel_agent   # the model-calling one

Besides fixes it reports the time from the demo's start to the first correct fix serving
live (its health watch passed) and the share of promoted fixes that are the reference fix.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = "support_agent"


def seeded_bugs(example: str) -> list[dict[str, Any]]:
    path = ROOT / "examples" / example / "seeded_bugs.json"
    bugs: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return bugs


def burners(count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` processes that burn a CPU each: a busy host."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def run_once(seconds: int | None, load: int = 0, example: str = EXAMPLE) -> dict[str, Any]:
    """One `theseus demo --json` in a fresh folder, with its wall time and final code, with
    ``load`` CPU-burning processes running beside it the whole time."""
    hogs = burners(load)
    try:
        return _run_once(seconds, example)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def _run_once(seconds: int | None, example: str) -> dict[str, Any]:
    theseus = Path(sys.executable).parent / "theseus"
    with tempfile.TemporaryDirectory(prefix="theseus-demo-bench-") as tmp:
        workdir = Path(tmp) / "demo"
        argv = [str(theseus), "demo", "--workdir", str(workdir), "--json", "--example", example]
        if seconds is not None:
            argv += ["--seconds", str(seconds)]
        began = time.monotonic()
        done = subprocess.run(argv, capture_output=True, text=True)
        wall = time.monotonic() - began
        if done.returncode != 0:
            raise SystemExit(f"theseus demo failed ({done.returncode}): {done.stderr.strip()}")
        data: dict[str, Any] = json.loads(done.stdout)
        data["wall_seconds"] = round(wall, 1)
        data["final_code"] = {
            bug["file"]: (workdir / bug["file"]).read_text(encoding="utf-8")
            for bug in seeded_bugs(example)
        }
    return data


def seeded_outcomes(run: dict[str, Any]) -> list[tuple[str, str]]:
    """``(bug id, outcome)`` per seeded bug: fixed as the reference fix, fixed differently
    (a promoted fix for its symptom, but the reference lines are not in the final code), or
    not fixed."""
    outcomes = []
    titles = [fix["title"] for fix in run["fixes"]]
    for bug in seeded_bugs(run.get("example", EXAMPLE)):
        code = run["final_code"][bug["file"]]
        promoted = any(
            t.startswith(bug["symptom"])
            and (bug["symptom"].startswith("wrong_") or bug["function"] in t)
            for t in titles
        )
        # a guard inserted above a line keeps that line: its fix contains its original
        gone = bug["original"] not in code or bug["original"] in bug["fixed"]
        if bug["fixed"] in code and gone:
            outcomes.append((bug["id"], "reference fix"))
        elif promoted:
            outcomes.append((bug["id"], "fixed differently"))
        else:
            outcomes.append((bug["id"], "not fixed"))
    return outcomes


def _changed_lines(diff: str) -> str:
    lines = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "<br>".join(f"`{line.strip()}`" for line in lines[:4]).replace("|", "\\|")


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} s" if values else "none"


def render(runs: list[dict[str, Any]], load: int = 0) -> str:
    walls = [r["wall_seconds"] for r in runs]
    fixed = [r["fixed"] for r in runs]
    last = runs[-1]
    example = last.get("example", EXAMPLE)
    total = len(seeded_bugs(example))
    firsts = [r["first_live_fix_seconds"] for r in runs if r.get("first_live_fix_seconds")]
    reference = sum(o == "reference fix" for r in runs for _, o in seeded_outcomes(r))
    differently = sum(o == "fixed differently" for r in runs for _, o in seeded_outcomes(r))
    rows = []
    for n, r in enumerate(runs, start=1):
        live = r["live"]
        before, after = sum(r["failures_before"].values()), sum(r["failures_after"].values())
        rows.append(
            f"| {n} | {r['wall_seconds']} | {r['fixed']} | {r['dropped_requests']} "
            f"| {live['requests_while_evolving']} | {live['swaps']} | {live['rollbacks']} "
            f"| {before} -> {after} ({after / before:.2f}x) | {r['audit_verified']} |"
        )
    bugs = {bug: [] for bug, _ in seeded_outcomes(last)}
    for r in runs:
        for bug, outcome in seeded_outcomes(r):
            bugs[bug].append(outcome)
    bug_rows = [f"| {bug} | {', '.join(outs)} |" for bug, outs in bugs.items()]
    fix_rows = [
        f"| {f['title'][:60]} | {f['seconds']} | {f['deploy']['verdict']} | {_changed_lines(f['diff'])} |"
        for f in last["fixes"]
    ]
    bad = [f"- {b['why']}: **{b['status']}** ({b['reason'][:110]})" for b in last["bad_candidates"]]
    return (
        "\n".join(
            [
                f"# The demo, end to end: {example}",
                "",
                f"Command: `.venv/bin/python benchmarks/demo_bench.py --runs {len(runs)}"
                f"{f' --load {load}' if load else ''}"
                f"{f' --example {example}' if example != EXAMPLE else ''}` (each run: "
                f"`theseus demo --example {example} --workdir NEW --json`, 200 sessions, seed 7,"
                " the default evolution budget).",
                f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
                f"{platform.python_version()}; "
                + (f"{load} CPU-burning processes beside it the whole time." if load else "quiet."),
                "",
                f"Median wall time **{statistics.median(walls):.0f} s** ("
                + ("target: under 180 s; " if example == EXAMPLE else "")
                + f"runs {', '.join(str(w) for w in walls)}). Median seeded bugs fixed, promoted and "
                f"hot-swapped: **{statistics.median(fixed):g}** of {total} (runs "
                f"{', '.join(str(f) for f in fixed)}).",
                "",
                f"Demo start to the first correct fix serving live (its health watch passed):"
                f" median **{_median(firsts)}** (runs "
                f"{', '.join(str(r.get('first_live_fix_seconds')) for r in runs)}). Promoted"
                f" fixes that are the reference fix: **{reference} of {reference + differently}**"
                f" ({differently} fixed differently).",
                "",
                "Same recorded traffic replayed against the final version: failures before -> after.",
                "",
                "| run | wall s | fixed | dropped | requests while evolving | swaps | rollbacks "
                "| failures before -> after | audit verified |",
                "|---|---|---|---|---|---|---|---|---|",
                *rows,
                "",
                "Each seeded bug, per run (reference fix = the final code has SEEDED_BUGS.md's fix; "
                "fixed differently = a fix for its symptom passed the replayed evidence and the "
                "tests, but it is not the reference change):",
                "",
                "| seeded bug | outcome per run |",
                "|---|---|",
                *bug_rows,
                "",
                "Fixes of the last run (seconds = search + verify + promote + deploy + health watch):",
                "",
                "| signature | seconds | health verdict | change |",
                "|---|---|---|---|",
                *fix_rows,
                "",
                "Bad candidates of the last run:",
                "",
                *bad,
            ]
        )
        + "\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="how many demo runs (default 3)")
    parser.add_argument("--seconds", type=int, help="evolution budget per run (demo default)")
    parser.add_argument("--from-json", type=Path, nargs="+", help="render saved runs")
    parser.add_argument("--save", type=Path, help="also write each run's JSON into this folder")
    parser.add_argument("--load", type=int, default=0, help="CPU-burning processes beside it")
    parser.add_argument("--example", default=EXAMPLE, help="bundled example (support_agent)")
    parser.add_argument("--out", type=Path, default=None, help="default results/demo[_NAME].md")
    args = parser.parse_args()
    if args.out is None:
        suffix = "" if args.example == EXAMPLE else f"_{args.example}"
        args.out = HERE / "results" / f"demo{suffix}.md"
    if args.from_json:
        runs = [json.loads(p.read_text(encoding="utf-8")) for p in args.from_json]
    else:
        runs = []
        for n in range(1, args.runs + 1):
            print(f"run {n}/{args.runs} ...", flush=True)
            runs.append(run_once(args.seconds, args.load, args.example))
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                (args.save / f"demo-{n}.json").write_text(json.dumps(runs[-1]), encoding="utf-8")
    tmp = args.out.with_suffix(".md.tmp")
    tmp.write_text(render(runs, args.load), encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
