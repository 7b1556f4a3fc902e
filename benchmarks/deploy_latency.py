"""Deploy -> cut-over on the example agent: workers forked from a warm parent vs spawned cold.

Usage:  .venv/bin/python benchmarks/deploy_latency.py [--deploys 8] [--runs 3] [--load 0]

A scratch git repository holds the example support agent and ``--deploys`` more commits of
it (each a one-line change to a skill, so every deploy starts a new pool). A real
:class:`~theseus.runtime.supervisor.Supervisor` serves it under the shipped worker profile
while 4 sessions talk to it in a closed loop; the bench deploys each commit in turn, one
second apart (the spare parent has time to start, as between the fixes of a cycle), and
reads each deploy's ``deploy_to_cutover_ms``. Each run does this once with
``warm_deploys = false`` and once with it on, alternating, so both see the same machine; the
table gives the median over all deploys of all runs, per mode, and their ratio. ``--load``
CPU-burning processes run beside it the whole time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from theseus.config import load_settings
from theseus.runtime.deploy import deploy
from theseus.runtime.failures import ServiceError
from theseus.runtime.supervisor import Supervisor

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "support_agent"
SKILL = Path("support_agent") / "skills" / "__init__.py"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=b@example.com", "-c", "user.name=bench", *args],
        cwd=root, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip()


def make_repo(root: Path, deploys: int) -> list[str]:
    """The example and ``deploys`` more commits of it; returns [base, *deploy commits]."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".theseus", "__pycache__"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "example")
    commits = [git(root, "rev-parse", "HEAD")]
    for n in range(deploys):
        with (root / SKILL).open("a") as out:
            out.write(f"# deploy {n}\n")
        git(root, "commit", "-qam", f"deploy {n}")
        commits.append(git(root, "rev-parse", "HEAD"))
    return commits


async def traffic(sup: Supervisor, stop: asyncio.Event) -> dict[str, int]:
    counts = {"sent": 0, "failed": 0}

    async def one(session: str) -> None:
        while not stop.is_set():
            try:
                await sup.handle(session, {"text": "where is my order 1001?"})
            except ServiceError as exc:
                counts["failed"] += 1
                print(f"failed request: {exc.line()}", file=sys.stderr)
            counts["sent"] += 1
            await asyncio.sleep(0.005)

    await asyncio.gather(*(one(f"s{i}") for i in range(4)))
    return counts


async def one_run(root: Path, commits: list[str], warm: bool) -> dict[str, Any]:
    settings = load_settings(root)
    data = settings.model_dump()
    data["runtime"].update(warm_deploys=warm, health_window=1.0, health_min_samples=5)
    settings = type(settings).model_validate({**data, "root": root})
    shutil.rmtree(settings.state_dir, ignore_errors=True)
    sup = Supervisor(settings)
    await sup.start(commits[0])
    stop = asyncio.Event()
    load = asyncio.ensure_future(traffic(sup, stop))
    times, forked = [], []
    try:
        for commit in commits[1:]:
            await asyncio.sleep(1.0)
            report = await deploy(sup, commit)
            times.append(report["deploy_to_cutover_ms"])
            forked.append(bool(report["forked"]))
    finally:
        stop.set()
        counts = await load
        await sup.close()
    return {"times": times, "forked": forked, **counts, "isolation": sup.profile.mode}


def burn() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def render(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> str:
    def cell(mode: str) -> tuple[float, float, float, int, int]:
        times = [t for run in results[mode] for t in run["times"]]
        forked = sum(f for run in results[mode] for f in run["forked"])
        failed = sum(run["failed"] for run in results[mode])
        qs = statistics.quantiles(times, n=10) if len(times) > 1 else times * 9
        return statistics.median(times), min(times), qs[-1], forked, failed

    cold, warm = cell("cold"), cell("warm")
    mode = results["warm"][0]["isolation"]
    n = sum(len(r["times"]) for r in results["warm"])
    return "\n".join(
        [
            "# Deploy -> cut-over: warm parent vs cold workers"
            + (f", {args.load} CPU hogs beside it" if args.load else ""),
            "",
            f"Command: `.venv/bin/python benchmarks/deploy_latency.py --deploys {args.deploys}"
            f" --runs {args.runs} --load {args.load}`",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python"
            f" {platform.python_version()}, Linux {platform.release()}; {args.load} CPU-burning"
            f" processes beside it; worker profile `{mode}`; the example support agent, 2"
            " workers per version, 4 sessions in a closed loop during every deploy.",
            "",
            f"{n} deploys per mode ({args.runs} runs x {args.deploys}, modes alternating); each"
            " deploy is a new commit, so each starts a new pool.",
            "",
            "| workers | median ms | min ms | p90 ms | deploys forked | failed requests |",
            "|---|---|---|---|---|---|",
            f"| spawned cold (`warm_deploys = false`) | {cold[0]:.0f} | {cold[1]:.0f}"
            f" | {cold[2]:.0f} | {cold[3]} of {n} | {cold[4]} |",
            f"| forked from the warm parent | {warm[0]:.0f} | {warm[1]:.0f} | {warm[2]:.0f}"
            f" | {warm[3]} of {n} | {warm[4]} |",
            "",
            f"Median deploy -> cut-over, cold / warm: **{cold[0] / warm[0]:.1f}x** (goal: warm"
            " under 300 ms).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deploys", type=int, default=8, help="deploys per run and mode")
    parser.add_argument("--runs", type=int, default=3, help="runs (each: cold, then warm)")
    parser.add_argument("--load", type=int, default=0, help="CPU-burning processes beside it")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "deploy.md")
    args = parser.parse_args()
    hogs = [burn() for _ in range(args.load)]
    results: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    try:
        with tempfile.TemporaryDirectory(prefix="theseus-deploy-bench-") as scratch:
            root = Path(scratch) / "agent"
            commits = make_repo(root, args.deploys)
            for run in range(args.runs):
                for mode in ("cold", "warm"):
                    outcome = asyncio.run(one_run(root, commits, warm=mode == "warm"))
                    results[mode].append(outcome)
                    median = statistics.median(outcome["times"])
                    print(f"run {run + 1} {mode}: median {median:.0f} ms", file=sys.stderr)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    text = render(results, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
