"""`theseus bench swap`: hot swaps under load, against the restart-based deploy, same run.

The example support agent is copied into a scratch git repository and given three more
commits: v2 migrates every session's state (adds a field through ``migrate``), v3 is a
deliberately broken patch (a blocking call that makes every answer slow, which the health
watch must catch and roll back by itself), v4 is a plain good change. ``theseus serve`` runs
v1 as a real service; many sessions talk to it over HTTP while the bench deploys v2, v3 and
v4 through its API. Then the same load runs against a single-process server whose sessions
live in memory, restarted from v1 to v2: its downtime, failed requests and lost sessions are
the comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx

from theseus.bench.loadgen import Load
from theseus.errors import BenchError
from theseus.paths import STATE_DIR

MESSAGES: list[Any] = [
    {"text": "hello", "date": "2024-05-01"},
    {"text": "where is my order?", "date": "2024-05-01"},
    {"text": "thanks", "date": "2024-05-01"},
]
# The bench's [runtime] values, merged into the example's own table (a second [runtime]
# table is invalid TOML: that is how `bench swap` broke once the example gained one).
RUNTIME: dict[str, Any] = {
    "workers_per_version": 2,
    "health_window": 6.0,
    "health_min_samples": 30,
    "max_error_rate_increase": 0.05,
    "max_p95_ratio": 2.0,
    "restart_intensity": 5,
    "restart_period": 10.0,
    "call_timeout": 10.0,
}
_TABLE = re.compile(r"^\s*\[([^\]]+)\]\s*(#.*)?$")


def with_runtime(config: str, values: dict[str, Any]) -> str:
    """``config`` (a theseus.toml) with ``values`` merged into its ``[runtime]`` table,
    which is written once, at the end; every other table is kept as it was."""
    current = tomllib.loads(config).get("runtime", {})
    merged = {**current, **values}
    kept: list[str] = []
    inside = False
    for line in config.splitlines():
        header = _TABLE.match(line)
        if header is not None:
            inside = header.group(1).strip() == "runtime"
        if not inside:
            kept.append(line)
    body = "\n".join(f"{key} = {_toml_value(value)}" for key, value in merged.items())
    return "\n".join(kept).rstrip() + "\n\n[runtime]\n" + body + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):  # a TOML basic string: JSON's escapes, and DEL escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} into [runtime]")


V2_PATCH = '''

_bench_migrate_v1 = migrate


def migrate(state, from_version, to_version):
    """v2: sessions gain a field, written once per move to a new version."""
    state = _bench_migrate_v1(state, from_version, to_version)
    state["moves"] = int(state.get("moves", 0)) + 1
    return state
'''
V3_PATCH = '''

import time as _bench_time

_bench_handle_v2 = handle


def handle(message, state):
    """v3, deliberately broken: a blocking call in the hot path."""
    _bench_time.sleep(0.12)
    return _bench_handle_v2(message, state)
'''
V4_PATCH = """

BENCH_RELEASE = "v4"
"""


def example_agent() -> Path:
    """examples/support_agent from the source tree, or as installed with the package."""
    here = Path(__file__).resolve()
    for candidate in (
        here.parents[3] / "examples" / "support_agent",
        here.parents[1] / "_examples" / "support_agent",
    ):
        if (candidate / "theseus.toml").is_file():
            return candidate
    raise FileNotFoundError("examples/support_agent not found next to the theseus package")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def _commit(root: Path, message: str) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD")


def make_repo(source: Path, root: Path) -> dict[str, str]:
    """The agent as a git repo with the bench's versions; returns commits by name."""
    shutil.copytree(
        source, root, ignore=shutil.ignore_patterns(STATE_DIR, "__pycache__", ".pytest_cache")
    )
    (root / ".gitignore").write_text(f"{STATE_DIR}/\n__pycache__/\n")
    config = root / "theseus.toml"
    config.write_text(with_runtime(config.read_text(), RUNTIME))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "bench@theseus.invalid")
    _git(root, "config", "user.name", "theseus bench")
    app = root / "support_agent" / "app.py"
    base = app.read_text()
    commits = {"v1": _commit(root, "v1")}
    for name, patch in (("v2", V2_PATCH), ("v3", V2_PATCH + V3_PATCH), ("v4", V2_PATCH + V4_PATCH)):
        app.write_text(base + patch)
        commits[name] = _commit(root, name)
    return commits


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _last_line(log: Path | None) -> str:
    if log is None or not log.is_file():
        return ""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


async def _wait_up(
    base: str,
    timeout: float = 60.0,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> float:
    """Seconds until GET /health answers 200; BenchError with the server's own last line
    of output as soon as it exits, or when it never answers."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as client:
        while time.perf_counter() - started < timeout:
            if proc is not None and proc.poll() is not None:
                raise BenchError(
                    f"the server exited with code {proc.returncode}: {_last_line(log)}"
                )
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/health")).status_code == 200:
                    return time.perf_counter() - started
            await asyncio.sleep(0.02)
    said = _last_line(log)
    raise BenchError(
        f"no service came up at {base} within {timeout:g} s" + (f": {said}" if said else "")
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


async def _theseus_run(
    repo: Path, commits: dict[str, str], sessions: int, phase: float
) -> dict[str, Any]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable,
        "-m",
        "theseus.cli.main",
        "serve",
        "--project",
        str(repo),
        "--port",
        str(port),
        "--version",
        commits["v1"],
    ]
    token = secrets.token_urlsafe(32)
    env = {**os.environ, "THESEUS_ADMIN_TOKEN": token}
    log = repo.parent / "serve.log"  # a file, not a pipe nobody reads (it would fill up)
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=out, env=env)
    admin = {"Authorization": f"Bearer {token}"}
    workers: set[int] = set()
    try:
        await _wait_up(base, proc=proc, log=log)
        load = Load(base, sessions, MESSAGES, prefix="hot")
        driver = asyncio.create_task(load.run())
        await asyncio.sleep(phase)
        swaps = []
        async with httpx.AsyncClient(base_url=base, timeout=120.0, headers=admin) as client:
            for name, broken in (("v2", False), ("v3", True), ("v4", False)):
                swaps.append(await _swap(client, load, name, commits[name], broken, phase))
                for row in (await client.get("/versions")).json()["versions"]:
                    workers.update(row["workers"])
            load.stop()
            await driver
            health = (await client.get("/health")).json()
        lost = await load.lost_sessions()
    finally:
        _stop(proc)
    orphans = sorted(pid for pid in workers if _alive(pid))
    counters = health["counters"]
    return {
        "requests_sent": len(load.requests),
        "failed_requests": sum(not r.ok for r in load.requests),
        "sessions": sessions,
        "sessions_lost": lost,
        "sessions_migrated": counters.get("sessions_migrated", 0),
        "rollbacks": counters.get("automatic_rollbacks", 0),
        "downtime_s": round(load.downtime_s(), 3),
        "steady": load.window(load.requests[0].sent, swaps[0]["deployed_at"]),
        "swaps": swaps,
        "orphan_workers": orphans,
    }


async def _swap(
    client: httpx.AsyncClient, load: Load, name: str, commit: str, broken: bool, phase: float
) -> dict[str, Any]:
    before = await client.get("/health")
    rollbacks_before = before.json()["counters"].get("automatic_rollbacks", 0)
    deployed_at = time.time()
    # the bench's versions are its own commits, not promoted fixes: deployed by force
    response = await client.post(
        "/deploy", json={"commit": commit, "force": True, "actor": "theseus bench swap"}
    )
    response.raise_for_status()
    report = response.json()
    cut_at = float(report["at"])
    result: dict[str, Any] = {
        "version": name,
        "broken": broken,
        "deployed_at": deployed_at,
        "deploy_to_cutover_ms": round(report["deploy_to_cutover_ms"], 1),
        "cutover_after_warm_ms": round(report["cutover_ms"], 3),
    }
    end_of_swap = cut_at + 1.0
    if broken:
        deadline = time.time() + 30
        rollback: dict[str, Any] | None = None
        while time.time() < deadline and rollback is None:
            await asyncio.sleep(0.05)
            events = (await client.get("/events", params={"limit": 500})).json()["events"]
            rollback = next(
                (
                    e
                    for e in events
                    if e["kind"] == "rollback" and e.get("from") == commit and e.get("automatic")
                ),
                None,
            )
        if rollback is None:
            raise BenchError(f"broken version {name} was not rolled back within 30 s")
        result.update(
            {
                "rolled_back": True,
                "rollback_reason": rollback["reason"],
                "rollback_ms_from_detection": round(rollback["rollback_ms"], 4),
                "cutover_to_rollback_ms": round((rollback["at"] - cut_at) * 1000.0, 1),
            }
        )
        end_of_swap = rollback["at"] + 1.0
        assert (await client.get("/health")).json()["counters"].get(
            "automatic_rollbacks", 0
        ) > rollbacks_before
    await asyncio.sleep(max(0.0, end_of_swap - time.time()) + phase)
    result["latency"] = {
        "before": load.window(deployed_at - phase, deployed_at),
        "during": load.window(deployed_at, end_of_swap),
        "after": load.window(end_of_swap, end_of_swap + phase),
    }
    return result


async def _restart_run(
    repo: Path, commits: dict[str, str], sessions: int, phase: float, work: Path
) -> dict[str, Any]:
    trees = {}
    for name in ("v1", "v2"):
        tree = work / f"restart-{name}"
        tree.mkdir()
        archive = subprocess.run(
            ["git", "archive", commits[name]], cwd=repo, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        trees[name] = tree
    port = _free_port()
    base = f"http://127.0.0.1:{port}"

    def start(name: str) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable,
            "-m",
            "theseus.bench.restart_baseline",
            "--root",
            str(trees[name]),
            "--entrypoint",
            "support_agent.app:handle",
            "--port",
            str(port),
        ]
        env = {**os.environ, "THESEUS_RECORD": "0"}
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

    proc = start("v1")
    try:
        await _wait_up(base)
        load = Load(base, sessions, MESSAGES, prefix="restart")
        driver = asyncio.create_task(load.run())
        await asyncio.sleep(phase)
        stopped_at = time.time()
        _stop(proc)
        proc = start("v2")
        await _wait_up(base)
        up_at = time.time()
        await asyncio.sleep(phase)
        load.stop()
        await driver
        lost = await load.lost_sessions()
    finally:
        _stop(proc)
    return {
        "requests_sent": len(load.requests),
        "failed_requests": sum(not r.ok for r in load.requests),
        "sessions_lost": lost,
        "downtime_s": round(up_at - stopped_at, 3),
        "latency": {
            "before": load.window(stopped_at - phase, stopped_at),
            "after": load.window(up_at, up_at + phase),
        },
    }


async def run_bench(sessions: int = 32, duration: float = 30.0) -> dict[str, Any]:
    """The whole comparison; ``duration`` is split into the steady phases of both runs."""
    phase = max(1.0, duration / 12)
    work = Path(tempfile.mkdtemp(prefix="theseus-bench-"))
    try:
        repo = work / "agent"
        commits = make_repo(example_agent(), repo)
        hot = await _theseus_run(repo, commits, sessions, phase)
        restart = await _restart_run(repo, commits, sessions, phase, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summarise(hot, restart, sessions, phase)


def summarise(
    hot: dict[str, Any], restart: dict[str, Any], sessions: int, phase: float
) -> dict[str, Any]:
    good = [s for s in hot["swaps"] if not s["broken"]]
    p99_ratios = [
        s["latency"]["during"]["p99_ms"] / s["latency"]["before"]["p99_ms"]
        for s in good
        if s["latency"]["during"]["p99_ms"] and s["latency"]["before"]["p99_ms"]
    ]
    broken = [s for s in hot["swaps"] if s["broken"]]
    return {
        "sessions": sessions,
        "phase_s": round(phase, 2),
        "requests_sent": hot["requests_sent"],
        "failed_requests": hot["failed_requests"],
        "sessions_lost": hot["sessions_lost"],
        "sessions_migrated": hot["sessions_migrated"],
        "rollbacks": hot["rollbacks"],
        "downtime_s": hot["downtime_s"],
        "orphan_workers": hot["orphan_workers"],
        "steady": hot["steady"],
        "swaps": hot["swaps"],
        "max_p99_during_over_before": round(max(p99_ratios), 2) if p99_ratios else None,
        "max_cutover_after_warm_ms": max(s["cutover_after_warm_ms"] for s in hot["swaps"]),
        "max_rollback_ms_from_detection": max(
            (s["rollback_ms_from_detection"] for s in broken), default=None
        ),
        "restart_baseline": restart,
        "ratios": {
            "failed_requests_restart_over_hot": _ratio(
                restart["failed_requests"], hot["failed_requests"]
            ),
            "sessions_lost_restart_over_hot": _ratio(
                restart["sessions_lost"], hot["sessions_lost"]
            ),
            "downtime_restart_over_hot": _ratio(
                restart["downtime_s"], hot["downtime_s"], floor=0.001
            ),
        },
    }


def _ratio(restart: float, hot: float, floor: float = 1.0) -> str:
    """restart / hot; with zero on the hot side, a lower bound against one unit."""
    if hot:
        return f"{restart / hot:.1f}x"
    return f">= {restart / floor:.0f}x (hot swap: 0)"


def passed(result: dict[str, Any]) -> bool:
    return (
        result["failed_requests"] == 0
        and result["sessions_lost"] == 0
        and result["sessions_migrated"] >= 1
        and result["rollbacks"] >= 1
        and not result["orphan_workers"]
    )
