"""Run every benchmark and assemble BENCHMARKS.md from benchmarks/results/*.md.

Each benchmark script writes its own results file (command, machine, medians, and the
side-by-side comparison as a ratio); this script runs them in turn and stitches the files
into one page, so the numbers in BENCHMARKS.md always come from a command anyone can run.

    .venv/bin/python -m benchmarks.run_all            # everything (~30 minutes)
    .venv/bin/python -m benchmarks.run_all --assemble # only rebuild BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent

# (results file, command) in the order of the flow.
BENCHMARKS: list[tuple[str, list[str]]] = [
    ("sdk_overhead.md", [sys.executable, str(HERE / "sdk_overhead.py")]),
    ("sandbox.md", [sys.executable, str(HERE / "sandbox_overhead.py")]),
    ("verify.md", [sys.executable, str(HERE / "verify_throughput.py")]),
    ("trials.md", [sys.executable, str(HERE / "trial_cost.py")]),
    ("repair.md", [sys.executable, str(HERE / "repair_bench.py")]),
    ("swap.md", [sys.executable, str(HERE / "swap_bench.py")]),
    ("deploy.md", [sys.executable, str(HERE / "deploy_latency.py")]),
    ("deploy_load.md", [sys.executable, str(HERE / "deploy_latency.py"), "--load", "2",
                        "--out", str(HERE / "results" / "deploy_load.md")]),
    ("serve.md", [sys.executable, str(HERE / "serve_cost.py")]),
    ("health.md", [sys.executable, str(HERE / "health_watch.py")]),
    ("demo.md", [sys.executable, str(HERE / "demo_bench.py")]),
    ("demo_load.md", [sys.executable, str(HERE / "demo_bench.py"), "--load", "2",
                      "--out", str(HERE / "results" / "demo_load.md")]),
    ("demo_travel_agent.md", [sys.executable, str(HERE / "demo_bench.py"),
                              "--example", "travel_agent"]),
]  # fmt: skip
ORDER = [
    "sdk_overhead.md",
    "sandbox.md",
    "verify.md",
    "trials.md",
    "repair.md",
    "swap.md",
    "deploy.md",
    "deploy_load.md",
    "serve.md",
    "health.md",
    "demo.md",
    "demo_load.md",
    "demo_travel_agent.md",
]

HEADER = """# Benchmarks

Every figure below was produced by the command printed with it, on the machine it names
(the project's 2-core, 24 GiB machines unless stated). Medians of several runs; each
comparison was measured side by side in the same run and is given as a ratio. Rebuild with
`make bench` (all benchmarks, slow) or `.venv/bin/python -m benchmarks.run_all --assemble`
(only this page, from `benchmarks/results/`).
"""


def assemble() -> Path:
    parts = [HEADER]
    results = HERE / "results"
    names = [n for n in ORDER if (results / n).exists()]
    names += sorted(p.name for p in results.glob("*.md") if p.name not in names)
    for name in names:
        text = (results / name).read_text(encoding="utf-8").strip()
        parts.append("\n" + text.replace("\n# ", "\n## ").replace("# ", "## ", 1) + "\n")
    target = ROOT / "BENCHMARKS.md"
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assemble", action="store_true", help="only rebuild BENCHMARKS.md")
    args = parser.parse_args()
    failed = 0
    if not args.assemble:
        for name, command in BENCHMARKS:
            print(f"== {name}: {' '.join(command)}", flush=True)
            failed += subprocess.run(command, cwd=ROOT, check=False).returncode != 0
    print(f"wrote {assemble()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
