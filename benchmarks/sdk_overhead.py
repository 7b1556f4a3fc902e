"""Per-call overhead of ``@theseus.task`` against the same plain function.

Each call through @task captures its input, runs the function, and commits one record to a
real SQLite evidence store (WAL, one transaction per call: durable when the call returns).
Plain and decorated runs are interleaved, several rounds each, and the medians compared.

    .venv/bin/python benchmarks/sdk_overhead.py [--rounds 7] [--out benchmarks/results/sdk_overhead.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import theseus
from theseus.evidence import sdk
from theseus.evidence.store import EvidenceStore


def trivial(message: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    return {"reply": message["text"], "n": len(state)}


def one_ms(message: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    end = time.perf_counter() + 0.001
    while time.perf_counter() < end:
        pass
    return {"reply": message["text"], "n": len(state)}


def per_call_us(fn: Callable[..., Any], calls: int) -> float:
    message = {"text": "where is my order 1234?", "lang": "en"}
    state = {"history": ["hi", "hello"], "user": {"id": 7, "tier": "gold"}}
    start = time.perf_counter()
    for _ in range(calls):
        fn(message, state)
    return (time.perf_counter() - start) / calls * 1e6


def measure(plain: Callable[..., Any], calls: int, rounds: int) -> tuple[float, float]:
    wrapped = theseus.task(plain)
    per_call_us(plain, calls // 10)  # warm up: imports, store open, code version lookup
    per_call_us(wrapped, calls // 10)
    plain_runs, task_runs = [], []
    for _ in range(rounds):
        plain_runs.append(per_call_us(plain, calls))
        task_runs.append(per_call_us(wrapped, calls))
    return statistics.median(plain_runs), statistics.median(task_runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "sdk_overhead.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "evidence.db"
        sdk.configure(store=db)
        os.environ["THESEUS_CODE_VERSION"] = "bench"
        rows = []
        for name, fn, calls in (("trivial", trivial, 3000), ("~1 ms", one_ms, 300)):
            plain_us, task_us = measure(fn, calls, args.rounds)
            rows.append((name, calls, plain_us, task_us, task_us - plain_us, task_us / plain_us))
        with EvidenceStore(db) as store:
            recorded = store.counts()["tasks"]
    lines = [
        "# @theseus.task overhead per call",
        "",
        f"Command: `.venv/bin/python benchmarks/sdk_overhead.py --rounds {args.rounds}`",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        "Store: SQLite WAL, synchronous=NORMAL, one committed transaction per call (durable on return).",
        f"Median of {args.rounds} rounds; plain and decorated rounds interleaved; {recorded} records written.",
        "",
        "| function | calls/round | plain µs/call | @task µs/call | overhead µs/call | ratio |",
        "|---|---|---|---|---|---|",
        *(
            f"| {n} | {c} | {p:.2f} | {t:.2f} | {t - p:.2f} | {r:.3f} |"
            for n, c, p, t, _, r in rows
        ),
        "",
        f"CPU contention check: the 1 ms busy loop took {rows[1][2] / 1000:.2f} ms per call plain "
        "(1.00 on an idle core); above that, every number here is inflated by other load.",
        "The overhead is dominated by the SQLite commit (one small WAL transaction per call);",
        "capturing the input and output (to_json_safe) and building the record cost a few µs.",
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
