"""Per-trial sandbox overhead against plain `python -c pass`, side by side in one run.

Usage:  .venv/bin/python benchmarks/sandbox_overhead.py [--runs 30] [--out FILE]

For each backend that works here, runs `python -c pass` through `run_sandboxed` and, in the
same interleaved loop, plainly through `subprocess.run` (same interpreter, same minimal env),
and reports medians, the overhead in ms and the ratio to plain. Interleaving makes the
comparison fair on a busy machine: both see the same load at the same moment.

It also runs `python -c pass` through bubblewrap's bare command line twice in the same loop:
as it was before the safety work of issue 14 (the whole host root bound read-only, root
inside), and as it is now (the allowlisted view, an unprivileged uid via setpriv, the seccomp
filter), so the cost of the added protections is a difference measured side by side.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from theseus.verify.sandbox import BACKENDS, Limits, run_sandboxed, sandbox_env
from theseus.verify.sandbox.backends import bwrap_argv, probe
from theseus.verify.sandbox.seccomp import seccomp_pipe

TARGET_MS, TARGET_RATIO = 30.0, 1.5


def plain(ws: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "pass"], cwd=ws, env=sandbox_env(ws, "rlimits", None), check=True
    )
    return time.perf_counter() - started


def sandboxed(ws: Path, backend: str, *, cgroup: bool = True) -> float:
    started = time.perf_counter()
    result = run_sandboxed(
        ["python", "-c", "pass"],
        ws,
        Limits(timeout=30, memory_cgroup=cgroup),
        backend=backend,
        allow_weak=True,
    )
    elapsed = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"{backend}: python -c pass failed in the sandbox: {result.reason}")
    return elapsed


def raw(argv: list[str], env: dict[str, str] | None = None, seccomp: bool = False) -> float:
    fd = seccomp_pipe() if seccomp else None
    argv = [a if a != "SECCOMP_FD" else str(fd) for a in argv]
    started = time.perf_counter()
    try:
        subprocess.run(argv, check=True, env=env, pass_fds=() if fd is None else (fd,))
    finally:
        if fd is not None:
            os.close(fd)
    return time.perf_counter() - started


def bwrap_before(ws: Path) -> list[str]:
    """The bubblewrap command line before issue 14: the host root read-only, root inside."""
    return [
        "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
        "--bind", str(ws), str(ws), "--unshare-net", "--unshare-pid", "--unshare-ipc",
        "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--chdir", str(ws), "--",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "sandbox.md"
    )
    args = parser.parse_args()
    load = os.getloadavg()
    backends = [name for name in BACKENDS if probe(name).available]
    with tempfile.TemporaryDirectory(prefix="theseus-bench-") as folder:
        ws = Path(folder).resolve()
        for name in backends:  # warm caches and the probe
            sandboxed(ws, name)
        plain(ws)
        times: dict[str, list[float]] = {"plain": [], **{name: [] for name in backends}}
        times["true"], times["bwrap true"] = [], []
        times["bwrap before: python -c pass"], times["bwrap now: python -c pass"] = [], []
        times["bwrap, no memory cgroup"] = []
        env = sandbox_env(ws, "bwrap", None)
        now = [*bwrap_argv(ws, ws, (), seccomp_fd=-1), "python", "-c", "pass"]
        now = ["SECCOMP_FD" if a == "-1" else a for a in now]
        os.chmod(ws, 0o777)
        for _ in range(args.runs):
            times["plain"].append(plain(ws))
            for name in backends:
                times[name].append(sandboxed(ws, name))
            if "bwrap" in backends:  # bubblewrap's own setup cost, without Python or Theseus
                times["true"].append(raw(["true"]))
                times["bwrap true"].append(raw([*bwrap_argv(ws, ws, ()), "true"]))
                before = [*bwrap_before(ws), "python", "-c", "pass"]
                times["bwrap before: python -c pass"].append(raw(before, env))
                times["bwrap now: python -c pass"].append(raw(now, env, seccomp=True))
                times["bwrap, no memory cgroup"].append(sandboxed(ws, "bwrap", cgroup=False))
    base = statistics.median(times["plain"]) * 1000
    rows = [f"| plain `python -c pass` | {base:.1f} | - | 1.00x | |"]
    for name in backends:
        median = statistics.median(times[name]) * 1000
        overhead, ratio = median - base, median / base
        verdict = ""
        if name == "bwrap":
            met = overhead < TARGET_MS and ratio < TARGET_RATIO
            verdict = (
                "meets target" if met else f"MISSES target (<{TARGET_MS:g} ms, <{TARGET_RATIO}x)"
            )
        rows.append(f"| {name} | {median:.1f} | {overhead:+.1f} | {ratio:.2f}x | {verdict} |")
    if times["true"]:
        bare = statistics.median(times["bwrap true"]) - statistics.median(times["true"])
        rows.append(
            f"| (bwrap setup alone: `bwrap <same flags> true` - `true`) | | {bare * 1000:+.1f} | | |"
        )
    if times["bwrap before: python -c pass"]:
        old = statistics.median(times["bwrap before: python -c pass"]) * 1000
        new = statistics.median(times["bwrap now: python -c pass"]) * 1000
        rows.append(f"| bwrap before issue 14 (host root read-only, root inside) | {old:.1f} | "
                    f"{old - base:+.1f} | {old / base:.2f}x | |")  # fmt: skip
        plain_cg = statistics.median(times["bwrap, no memory cgroup"]) * 1000
        rows.append(f"| bwrap, full call without the memory cgroup | {plain_cg:.1f} | "
                    f"{plain_cg - base:+.1f} | {plain_cg / base:.2f}x | |")  # fmt: skip
        rows.append(f"| bwrap now (allowlist, uid 65534, seccomp) | {new:.1f} | "
                    f"{new - base:+.1f} | {new / base:.2f}x | now/before {new / old:.2f}x |")  # fmt: skip
    notes: list[str] = []
    if times["bwrap before: python -c pass"] and "bwrap" in backends:
        view = new - old
        group = statistics.median(times["bwrap"]) * 1000 - plain_cg
        notes = [
            "",
            f"Where issue 14's protections cost: the allowlisted view, the uid drop (setpriv) and "
            f"the seccomp filter together {view:+.1f} ms per run (bare bwrap, now vs before); "
            f"the memory cgroup {group:+.1f} ms (joining a cgroup v1 group waits for an RCU "
            "grace period; a long-lived trial worker joins once; `[verify] memory_cgroup = "
            "false` trades the protection away).",
        ]
    report = "\n".join(
        [
            "# Sandbox overhead per trial",
            "",
            f"Command: `.venv/bin/python benchmarks/sandbox_overhead.py --runs {args.runs}`",
            f"Machine: {platform.node()} / {platform.machine()} / Linux {platform.release()}, "
            f"Python {platform.python_version()}, {os.cpu_count()} cores; load average "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the start (a shared machine).",
            f"Median of {args.runs} interleaved runs each.",
            "Sandboxed = full `run_sandboxed` call (limits, backend, watchdog, capture).",
            "",
            "| run | median ms | overhead ms | ratio to plain | target |",
            "|---|---|---|---|---|",
            *rows,
            *notes,
            "",
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
