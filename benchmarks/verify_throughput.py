"""Verification throughput (candidates per minute) on the example support agent.

    .venv/bin/python benchmarks/verify_throughput.py [--runs 3] [--sessions 60]

Set-up (not timed): the example agent is copied into a fresh git repository, its traffic
driver records real evidence, the curator batches it, and one candidate per seeded bug is made
from ``seeded_bugs.json`` (the documented one-line fix, against the batch its symptom names),
plus one candidate per batch that changes nothing relevant (it must fail). Baselines are
computed once (timed separately: they are a per-base cost, not a per-candidate one).

Timed: the whole candidate set through :class:`LocalExecutor` with 1 worker and with 2
workers, alternating, ``--runs`` times each; the median of each and their ratio are written
to ``benchmarks/results/verify.md``.
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

from theseus.change.candidate import Candidate
from theseus.config import Settings, load_settings
from theseus.evidence.curator import curate
from theseus.evidence.records import FailureBatch
from theseus.evidence.store import EvidenceStore
from theseus.verify.executor import LocalExecutor, VerifyJob
from theseus.verify.sandbox import detect_backend

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "support_agent"
RESULTS = ROOT / "benchmarks" / "results" / "verify.md"


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, env=env
    ).stdout


def prepare(workdir: Path, sessions: int) -> tuple[Path, Settings, list[FailureBatch]]:
    project = workdir / "support_agent"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".theseus", "__pycache__"))
    (project / ".gitignore").write_text(".theseus/\n__pycache__/\n")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "base")
    subprocess.run(
        [sys.executable, "-m", "traffic", "--sessions", str(sessions), "--json"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    settings = load_settings(project, check_globs=False)  # example toml is still in flux
    with EvidenceStore(settings.evidence_path) as store:
        batches = curate(store, settings)
    return project, settings, batches


def edit_diff(project: Path, path: str, old: str, new: str) -> str:
    target = project / path
    text = target.read_text()
    if old not in text:
        raise SystemExit(f"seeded bug text not found in {path}: {old!r}")
    target.write_text(text.replace(old, new, 1))
    try:
        return git(project, "diff")
    finally:
        git(project, "checkout", "--", ".")


def candidates(project: Path, batches: list[FailureBatch]) -> list[VerifyJob]:
    head = git(project, "rev-parse", "HEAD").strip()
    bugs = json.loads((project / "seeded_bugs.json").read_text())
    jobs: list[VerifyJob] = []
    for bug in bugs:
        batch = next((b for b in batches if bug["symptom"] in b.title), None)
        if batch is None:
            continue
        diff = edit_diff(project, bug["file"], bug["original"], bug["fixed"])
        fix = Candidate.create(base_commit=head, diff=diff, proposer="bench-fix")
        jobs.append(VerifyJob(candidate=fix, batch=batch))
        # A candidate that changes the right file but not the bug: must fail (fast).
        wrong = edit_diff(
            project, bug["file"], bug["original"], "    # touched\n" + bug["original"]
        )
        jobs.append(
            VerifyJob(
                candidate=Candidate.create(base_commit=head, diff=wrong, proposer="bench-noop"),
                batch=batch,
            )
        )
    return jobs


def run_all(
    settings: Settings, project: Path, jobs: list[VerifyJob], workers: int
) -> tuple[float, dict[str, str]]:
    started = time.monotonic()
    statuses: dict[str, str] = {}
    with LocalExecutor(settings, project, workers=workers) as executor:
        for result in executor.run(jobs):
            key = f"{result.job.candidate.proposer}:{result.job.candidate.id}"
            statuses[key] = (
                result.verification.status if result.verification else f"error: {result.error}"
            )
    return time.monotonic() - started, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="theseus-bench-verify-") as tmp:
        project, settings, batches = prepare(Path(tmp), args.sessions)
        jobs = candidates(project, batches)
        warm_started = time.monotonic()
        _, first = run_all(settings, project, jobs, 2)  # computes the baselines once
        warm = time.monotonic() - warm_started
        times: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.runs):
            for workers in (1, 2):
                elapsed, statuses = run_all(settings, project, jobs, workers)
                assert statuses == first, "verification results changed between runs"
                times[workers].append(elapsed)
    median = {w: statistics.median(t) for w, t in times.items()}
    per_minute = {w: len(jobs) * 60.0 / median[w] for w in median}
    verified = sum(1 for s in first.values() if s == "verified")
    lines = [
        "# Verification throughput",
        "",
        f"Command: `.venv/bin/python benchmarks/verify_throughput.py --runs {args.runs} --sessions {args.sessions}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"sandbox backend `{detect_backend(settings.verify.sandbox).name}`.",
        "",
        f"Workload: the example support agent, {len(jobs)} candidates ({len(jobs) // 2} seeded-bug "
        f"fixes from seeded_bugs.json, {len(jobs) // 2} no-op edits), each against its evidence batch "
        f"({len(batches)} batches from {args.sessions} recorded sessions); {verified} verified, "
        f"{len(jobs) - verified} failed, identical in every run. Baselines (once per batch, "
        f"included in the first pass): {warm:.1f}s for the first pass.",
        "",
        "| workers | median wall (s) | candidates/minute | runs (s) |",
        "|---|---|---|---|",
    ]
    for w in (1, 2):
        runs = ", ".join(f"{t:.2f}" for t in times[w])
        lines.append(f"| {w} | {median[w]:.2f} | {per_minute[w]:.1f} | {runs} |")
    lines += [
        "",
        f"Speed-up of 2 workers over 1 (same run, median): **{median[1] / median[2]:.2f}x**.",
        "",
        "Statuses: " + ", ".join(f"{k.split(':')[0]}={v}" for k, v in sorted(first.items())),
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
