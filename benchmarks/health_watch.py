"""The health watch on a busy machine: false rollbacks of correct fixes, and detection of a
truly slower version, for the rule that ships and, on the very same samples, the old one.

Usage:  .venv/bin/python benchmarks/health_watch.py [--swaps 20] [--load 2] [--burst 2]

A scratch git repository holds an agent doing ``--work-ms`` of CPU work per call in three
versions: A and B (correct: the same work, different code) and SLOW (the same plus a 120 ms
wait per call). ``--load`` CPU-burning processes run beside it the whole time, and
``--burst`` more start at each cut-over and stop when its watch ends (the load changes
across the swap, as on a shared host). A real
:class:`~theseus.runtime.supervisor.Supervisor` serves it with real workers while 8 sessions
send messages in a closed loop. The bench then swaps A <-> B ``--swaps`` times and SLOW in
``--swaps`` times, letting the shipped health watch decide each one. Beside it, a poller
applies the rule that shipped before (end-to-end p95 > ratio x max(baseline p95, 10 ms),
judged from ``health_min_samples`` calls) to the same version's samples at the same
moments, so both rules see identical data and the comparison is side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from theseus.config import load_settings
from theseus.runtime import deploy as swap
from theseus.runtime.failures import ServiceError
from theseus.runtime.health import Sample
from theseus.runtime.supervisor import Supervisor

HERE = Path(__file__).resolve().parent
TOML = """\
[agent]
name = "busy"
package = "agent"
entrypoint = "agent.app:handle"

[paths]
mutable = ["agent/*.py"]

[runtime]
workers_per_version = 2
health_window = {window}
health_min_samples = 20
max_p95_ratio = 2.0
call_timeout = 10
"""
AGENT = """
import time
import theseus

def work(ms):
    end = time.thread_time() + ms / 1000
    total = 0
    while time.thread_time() < end:
        total += 1
    return total

@theseus.task(idempotent=True)
def handle(message, state):
    state["n"] = state.get("n", 0) + 1
    work({work_ms})
    {extra}
    return {{"n": state["n"], "version": {name!r}}}
"""
VERSIONS = {"A": "pass", "B": "state['b'] = True", "SLOW": "time.sleep(0.12)"}


def git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def make_repo(root: Path, window: float, work_ms: float) -> dict[str, str]:
    (root / "agent").mkdir(parents=True)
    (root / "agent" / "__init__.py").write_text("")
    (root / ".gitignore").write_text(".theseus/\n")
    (root / "theseus.toml").write_text(TOML.format(window=window))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "bench@example.com")
    git(root, "config", "user.name", "bench")
    commits = {}
    for name, extra in VERSIONS.items():
        (root / "agent" / "app.py").write_text(
            AGENT.format(extra=extra, name=name, work_ms=work_ms)
        )
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", name)
        commits[name] = git(root, "rev-parse", "HEAD")
    return commits


def old_rule_trips(base: Sample, cand: Sample, min_samples: int, ratio: float) -> bool:
    """The latency rule before this change, on end-to-end p95 (rates are judged the same)."""
    if cand.n < min_samples or cand.p95_ms is None or base.p95_ms is None:
        return False
    return cand.p95_ms > ratio * max(base.p95_ms, 10.0)


async def traffic(sup: Supervisor, stop: asyncio.Event, sessions: int = 8) -> dict[str, int]:
    """Closed-loop sessions; a failed request is counted (and named), never fatal."""
    counts = {"sent": 0, "failed": 0}

    async def one(session: str) -> None:
        while not stop.is_set():
            try:
                await sup.handle(session, "hi")
            except ServiceError as exc:
                counts["failed"] += 1
                print(f"failed request: {exc.line()}", file=sys.stderr)
            counts["sent"] += 1
            await asyncio.sleep(0.002)

    await asyncio.gather(*(one(f"s{i}") for i in range(sessions)))
    return counts


async def one_swap(sup: Supervisor, commit: str, burst: int) -> dict[str, Any]:
    """Deploy ``commit`` and follow its watch to the end; both rules' verdicts. ``burst``
    more CPU hogs start at the cut-over and stop when the watch ends: load that changes
    across a swap is what turned a busy moment into a rollback."""
    rt = sup.runtime
    rollbacks = sup.counters["automatic_rollbacks"]
    report = await swap.deploy(sup, commit)
    hogs = [p for _ in range(burst) for p in burn()]
    watch, baseline_since = sup.watch, time.monotonic() - max(rt.health_window, 60.0)
    assert watch is not None
    old = report["previous"]
    baseline = sup.stats[old].sample(since=baseline_since)
    old_tripped_at: float | None = None
    try:
        while sup.watch is watch:
            cand = sup.stats[commit].sample(since=watch.since)
            if old_tripped_at is None and old_rule_trips(
                baseline, cand, rt.health_min_samples, rt.max_p95_ratio
            ):
                old_tripped_at = time.monotonic() - watch.since
            await asyncio.sleep(0.02)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    rolled_back = sup.counters["automatic_rollbacks"] > rollbacks
    after = time.monotonic() - watch.since
    return {
        "rolled_back": rolled_back,
        "seconds": after,
        "old_rule": old_tripped_at is not None,
        "old_seconds": old_tripped_at,
    }


async def bench(root: Path, commits: dict[str, str], swaps: int, burst: int) -> dict[str, Any]:
    settings = load_settings(root)
    sup = Supervisor(settings)
    await sup.start(commits["A"])
    stop = asyncio.Event()
    load = asyncio.ensure_future(traffic(sup, stop))
    try:
        await asyncio.sleep(3.0)  # the first baseline
        correct, slow = [], []
        for i in range(swaps):
            assert sup.router is not None
            target = commits["B"] if sup.router.current == commits["A"] else commits["A"]
            correct.append(await one_swap(sup, target, burst))
            print(f"correct swap {i + 1}/{swaps}: {correct[-1]}", file=sys.stderr)
        for i in range(swaps):
            slow.append(await one_swap(sup, commits["SLOW"], burst))
            print(f"slow swap {i + 1}/{swaps}: {slow[-1]}", file=sys.stderr)
    finally:
        stop.set()
        counts = await load
        await sup.close()
    return {
        "correct": correct,
        "slow": slow,
        "requests": counts["sent"],
        "failed": counts["failed"],
    }


def burn() -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"])]


def render(data: dict[str, Any], args: argparse.Namespace, load_avg: tuple[float, ...]) -> str:
    def row(name: str, runs: list[dict[str, Any]], want: str) -> str:
        new = sum(r["rolled_back"] for r in runs)
        old = sum(r["old_rule"] for r in runs)
        new_t = [r["seconds"] for r in runs if r["rolled_back"]]
        old_t = [r["old_seconds"] for r in runs if r["old_rule"]]
        med = lambda xs: f"{statistics.median(xs):.2f}" if xs else "-"  # noqa: E731
        return (
            f"| {name} | {len(runs)} | {new} of {len(runs)} | {med(new_t)} "
            f"| {old} of {len(runs)} | {med(old_t)} | {want} |"
        )

    return "\n".join(
        [
            "# Health watch on a busy machine",
            "",
            f"Command: `.venv/bin/python benchmarks/health_watch.py --swaps {args.swaps}"
            f" --load {args.load} --burst {args.burst} --window {args.window:g}"
            f" --work-ms {args.work_ms:g}`",
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
            f" {platform.python_version()}, Linux {platform.release()}; {args.load} CPU-burning"
            f" processes beside it throughout, {args.burst} more from each cut-over to the end"
            f" of its watch; load average {load_avg[0]:.1f} / {load_avg[1]:.1f} at the end.",
            f"Agent: ~{args.work_ms:g} ms of CPU per call, 2 workers per version, 8 sessions in a closed loop"
            f" ({data['requests']} requests in all, {data['failed']} failed); health window"
            f" {args.window:g} s,"
            " 20 calls minimum, ratio 2.",
            "Both rules judged the same version's samples at the same moments; only the new one"
            " acted.",
            "",
            "| swaps of | swaps | rolled back (new rule) | median s to rollback |"
            " old rule would have | old rule median s | goal |",
            "|---|---|---|---|---|---|---|",
            row("a correct fix (A <-> B)", data["correct"], "0 rolled back"),
            row("a version +120 ms per call", data["slow"], f"{args.swaps} of {args.swaps}"),
            "",
            "New rule: the agent's own time per call (worker wall time less its run-queue wait),"
            " warm calls only, p95 beyond ratio, floor and the old version's own spread, and a"
            " one-sided Mann-Whitney test at 1% (`src/theseus/runtime/latency.py`).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=20)
    parser.add_argument("--load", type=int, default=2, help="CPU-burning processes beside it")
    parser.add_argument("--burst", type=int, default=2, help="more hogs during each watch")
    parser.add_argument("--work-ms", type=float, default=2.0, help="CPU per call, ms")
    parser.add_argument("--window", type=float, default=4.0, help="health window, seconds")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "health.md")
    parser.add_argument("--append", action="store_true", help="add to --out, not replace")
    args = parser.parse_args()
    hogs = [p for _ in range(args.load) for p in burn()]
    try:
        with tempfile.TemporaryDirectory(prefix="theseus-health-") as tmp:
            root = Path(tmp) / "agent"
            commits = make_repo(root, args.window, args.work_ms)
            data = asyncio.run(bench(root, commits, args.swaps, args.burst))
            load_avg = os.getloadavg()
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    text = render(data, args, load_avg)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.append and args.out.is_file():
        text = args.out.read_text().rstrip() + "\n\n" + text.split("\n", 2)[2]
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
