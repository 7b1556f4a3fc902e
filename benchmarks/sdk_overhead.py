"""Per-call overhead of ``@theseus.task`` against the same plain function.

Each call through @task captures its input, runs the function, and appends one record to
this process's evidence journal (one ``write()``: durable through a crash of the process
when the call returns); the store takes the journal in when it is next opened. Plain and
decorated runs are interleaved, several rounds each, and the medians compared. Beside it,
in the same run: what the previous write path cost per record (one committed SQLite WAL
transaction, ``EvidenceStore.add_task``), and what taking the journal in costs per record.

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
        started = time.perf_counter()
        with EvidenceStore(db) as store:  # opening takes the journal in
            take_in_us = (time.perf_counter() - started) * 1e6
            recorded = store.counts()["tasks"]
            sample = store.tasks(limit=1)[0]
            commits = []
            for _ in range(args.rounds):
                begin = time.perf_counter()
                for n in range(500):
                    store.add_task(sample.model_copy(update={"id": f"{n:032x}"}))
                commits.append((time.perf_counter() - begin) / 500 * 1e6)
            commit_us = statistics.median(commits)
        overhead = rows[0][4]
    lines = [
        "# @theseus.task overhead per call",
        "",
        f"Command: `.venv/bin/python benchmarks/sdk_overhead.py --rounds {args.rounds}`",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        "Write path: one line appended to the process's evidence journal per call (durable"
        " through a crash of the process on return); the SQLite store (WAL, synchronous=NORMAL)"
        " takes the journal in when opened.",
        f"Median of {args.rounds} rounds; plain and decorated rounds interleaved; {recorded}"
        " records written.",
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
        "",
        f"Side by side, same run: one committed SQLite transaction per record (the previous"
        f" write path) costs **{commit_us:.1f} µs**; the journal's whole @task overhead on a"
        f" trivial call is **{overhead:.1f} µs** ({commit_us / overhead:.1f}x less than the"
        f" commit alone; goal <= 50 µs). Taking the {recorded} journal lines into the store"
        f" when it was opened: {take_in_us / max(1, recorded):.1f} µs per record, once, off"
        " the agent's path.",
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
