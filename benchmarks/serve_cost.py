"""What serving through Theseus costs: `theseus serve` vs a plain FastAPI app, side by side.

Usage:  .venv/bin/python benchmarks/serve_cost.py [--runs 3] [--duration 10] [--sessions 16]

Both servers run the example support agent's ``@task`` entrypoint on the example's own
generated traffic (its customer scripts' messages, in order), ``--sessions`` sessions in a
closed loop over HTTP (no think time) from this process. *Plain* is one uvicorn process
calling the entrypoint in-process, with sessions in a dict and the SDK recording into the
evidence store as a decorated agent does outside Theseus (``theseus.bench.restart_baseline``).
*Theseus* is ``theseus serve`` with its defaults: supervisor, worker pool under the worker
profile, durable sessions, evidence relayed and written, session tokens. Runs alternate
plain / theseus; each run measures a steady window after a warm-up: requests per second,
server CPU per request (the server's whole process tree: supervisor and workers), and the
client-side p50 / p99. The table gives medians over runs and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from theseus.bench.loadgen import Load
from theseus.bench.swap import _free_port, _stop, _wait_up, example_agent, make_repo
from theseus.runtime.health import quantile

HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")


def traffic_messages(root: Path, sessions: int = 40) -> list[Any]:
    """The example's generated customer messages, in script order."""
    sys.path.insert(0, str(root))
    try:
        from traffic.generate import generate  # the example's own generator

        return [turn.message for script in generate(sessions) for turn in script.turns]
    finally:
        sys.path.remove(str(root))


def tree_cpu_s(pid: int) -> tuple[float, float]:
    """User + system seconds of ``pid`` itself, and of it with every live descendant."""
    own, total, todo = 0.0, 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(") ", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / TICK
        total += seconds
        own += seconds if current == pid else 0.0
        todo.extend(int(c) for c in children)
    return own, total


async def measure(
    base: str, pid: int, messages: list[Any], sessions: int, warmup: float, duration: float
) -> dict[str, float]:
    load = Load(base, sessions, messages, think_s=0.0, prefix=f"s{time.monotonic_ns()}")
    driver = asyncio.create_task(load.run())
    await asyncio.sleep(warmup)
    start_wall, start_cpu = time.time(), tree_cpu_s(pid)
    await asyncio.sleep(duration)
    end_wall, end_cpu = time.time(), tree_cpu_s(pid)
    load.stop()
    await driver
    window = [r for r in load.requests if start_wall <= r.sent < end_wall]
    # 502 is the agent's own error (the example's seeded bugs), answered like any reply
    answered = sorted(r.latency_ms for r in window if r.status in (200, 502))
    per_request = 1000.0 / max(1, len(answered))
    return {
        "rps": len(answered) / (end_wall - start_wall),
        "cpu_ms_per_request": (end_cpu[1] - start_cpu[1]) * per_request,
        "server_process_cpu_ms": (end_cpu[0] - start_cpu[0]) * per_request,
        "p50_ms": quantile(answered, 0.5) or 0.0,
        "p99_ms": quantile(answered, 0.99) or 0.0,
        "agent_errors": float(sum(r.status == 502 for r in window)),
        "failed": float(sum(r.status not in (200, 502) for r in window)),
    }


async def one(mode: str, repo: Path, args: argparse.Namespace, messages: list[Any]) -> dict[str, float]:
    port = _free_port()
    env = {**os.environ, "THESEUS_ADMIN_TOKEN": secrets.token_urlsafe(32)}
    shutil.rmtree(repo / ".theseus", ignore_errors=True)
    if mode == "plain":
        argv = [sys.executable, "-m", "theseus.bench.restart_baseline", "--root", str(repo),
                "--entrypoint", "support_agent.app:handle", "--port", str(port)]  # fmt: skip
    else:
        argv = [sys.executable, "-m", "theseus.cli.main", "serve", "--project", str(repo),
                "--port", str(port)]  # fmt: skip
    log = repo.parent / f"{mode}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=repo, stdout=subprocess.DEVNULL, stderr=out, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        await _wait_up(base, proc=proc, log=log)
        return await measure(base, proc.pid, messages, args.sessions, 2.0, args.duration)
    finally:
        _stop(proc)


def render(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> str:
    def med(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in results[mode])

    rows = []
    for mode, name in (("plain", "plain FastAPI, agent in-process"), ("theseus", "`theseus serve`")):
        rows.append(
            f"| {name} | {med(mode, 'rps'):.0f} | {med(mode, 'cpu_ms_per_request'):.2f}"
            f" | {med(mode, 'server_process_cpu_ms'):.2f}"
            f" | {med(mode, 'p50_ms'):.1f} | {med(mode, 'p99_ms'):.1f}"
            f" | {sum(r['agent_errors'] for r in results[mode]):.0f}"
            f" | {sum(r['failed'] for r in results[mode]):.0f} |"
        )
    rps = med("theseus", "rps") / med("plain", "rps")
    cpu = med("theseus", "cpu_ms_per_request") / med("plain", "cpu_ms_per_request")
    return "\n".join(
        [
            "# Serving cost: `theseus serve` vs a plain FastAPI app on the same entrypoint",
            "",
            f"Command: `.venv/bin/python benchmarks/serve_cost.py --runs {args.runs}"
            f" --duration {args.duration:g} --sessions {args.sessions}`",
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python"
            f" {platform.python_version()}, Linux {platform.release()}; the load generator"
            " runs on the same machine. The example support agent, its generated traffic,"
            f" {args.sessions} sessions in a closed loop; medians of {args.runs} runs per"
            f" server (alternating), each a {args.duration:g} s window after 2 s of warm-up.",
            "",
            "| server | requests/s | server CPU ms / request | of it, the HTTP process"
            " | p50 ms | p99 ms | agent errors | failed |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Agent errors are the example's seeded bugs answering 502 (counted as answered);"
            " failed is any other outcome.",
            "",
            f"Requests/s, theseus / plain: **{rps:.2f}x** (goal >= 0.9x); server CPU per"
            f" request, theseus / plain: **{cpu:.2f}x**.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--only", choices=["plain", "theseus"], default=None)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "serve.md")
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"plain": [], "theseus": []}
    with tempfile.TemporaryDirectory(prefix="theseus-serve-bench-") as scratch:
        repo = Path(scratch) / "agent"
        make_repo(example_agent(), repo)
        messages = traffic_messages(repo)
        for run in range(args.runs):
            for mode in ("plain", "theseus"):
                if args.only not in (None, mode):
                    continue
                outcome = asyncio.run(one(mode, repo, args, messages))
                results[mode].append(outcome)
                print(f"run {run + 1} {mode}: {outcome}", file=sys.stderr)
    if args.only is not None:
        return
    text = render(results, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
