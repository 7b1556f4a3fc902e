"""`theseus demo`, first stage: the example agent's failures recorded and curated, offline.

The demo works on a *copy* of the bundled example agent in a git repository of its own, so
nothing it does touches the installed package and everything it leaves can be inspected
afterwards (``theseus evidence list`` in that folder). Traffic runs in a subprocess with the
copy's own code and interpreter path, exactly as a deployed agent would record evidence; the
curator then groups what was recorded into failure batches, one per signature.

With evolution on (the default) the demo then runs evolution cycles on the recorded
evidence (repair engine, sandboxed verification, gate, one git commit per fix with its
regression test), shows a deliberately bad candidate caught by policy, replays the same
traffic against the evolved code and compares failures by signature before and after.
Promotion is commit-only here: the demo does not start a live service (see demo_evolve).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import theseus
from theseus.config import load_settings
from theseus.errors import TheseusError
from theseus.evidence.curator import curate
from theseus.evidence.records import FailureBatch
from theseus.evidence.store import EvidenceStore

if TYPE_CHECKING:
    from theseus.demo_evolve import EvolutionResult

EXAMPLE = "support_agent"
EVIDENCE_DB = ".theseus/evidence.db"
TRAFFIC_TIMEOUT = 300.0
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".theseus", ".pytest_cache", ".coverage")
_GITIGNORE = "__pycache__/\n*.pyc\n.theseus/\n.pytest_cache/\n.theseus_replay/\n"
_GIT_IDENTITY = ["-c", "user.name=Theseus demo", "-c", "user.email=demo@theseus.invalid"]


class DemoError(TheseusError):
    """The demo could not set up or run its example agent."""


@dataclass
class DemoResult:
    """What one demo run did: where, how much traffic, and the failure batches it found."""

    workdir: Path
    sessions: int
    seed: int
    requests: int = 0
    exceptions: int = 0
    wrong_answers: int = 0
    commit: str = ""
    batches: list[FailureBatch] = field(default_factory=list)
    evolution: EvolutionResult | None = None

    def as_json(self) -> dict[str, Any]:
        data = {
            "workdir": str(self.workdir),
            "commit": self.commit,
            "sessions": self.sessions,
            "seed": self.seed,
            "requests": self.requests,
            "exceptions": self.exceptions,
            "wrong_answers": self.wrong_answers,
            "signatures": [
                {
                    "signature": b.signature,
                    "kind": b.kind,
                    "title": b.title,
                    "count": b.count,
                    "severity": b.severity,
                    "score": b.score,
                    "location": b.location,
                    "cases": len(b.cases),
                }
                for b in self.batches
            ],
        }
        if self.evolution is not None:
            data.update(self.evolution.as_json())
        return data


def find_example(name: str = EXAMPLE) -> Path:
    """The bundled example: ``theseus/_examples`` in a wheel, else ``examples/`` of a checkout."""
    package = Path(theseus.__file__).resolve().parent
    candidates = [package / "_examples" / name, package.parents[1] / "examples" / name]
    for folder in candidates:
        if (folder / "theseus.toml").is_file():
            return folder
    raise DemoError(
        f"the example agent {name!r} is not installed (looked in {candidates[0]} and {candidates[1]})",
        hint="reinstall theseus from its wheel, or run from a source checkout with `make demo`",
    )


def prepare_workdir(workdir: Path | None, example: Path | None = None) -> tuple[Path, str]:
    """Copy the example into ``workdir`` (default: a new temporary folder) and make it a git
    repository with one commit; returns the folder and the commit id."""
    source = example or find_example()
    if workdir is None:
        target = Path(tempfile.mkdtemp(prefix="theseus-demo-"))
    else:
        target = workdir.expanduser().resolve()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise DemoError(
                f"--workdir {target} exists and is not an empty folder",
                hint="pass a new or empty folder, or leave --workdir out for a temporary one",
            )
    try:
        shutil.copytree(source, target, ignore=_IGNORE, dirs_exist_ok=True)
        (target / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")
    except OSError as exc:
        raise DemoError(f"cannot copy the example agent to {target}: {exc}") from exc
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, *_GIT_IDENTITY, "commit", "-q", "-m", "The example support agent, as shipped")
    return target, _git(target, "rev-parse", "HEAD").strip()


def _git(cwd: Path, *args: str) -> str:
    if shutil.which("git") is None:
        raise DemoError("git is not installed", hint="install git; the demo keeps versions in it")
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise DemoError(f"git {args[0]} failed in {cwd}: {done.stderr.strip() or done.stdout}")
    return done.stdout


def run_traffic(
    workdir: Path,
    sessions: int,
    seed: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Play ``sessions`` conversations against the copy's own code in a subprocess, recording
    evidence into ``workdir/.theseus/evidence.db``; returns the traffic's own counts."""
    env = dict(os.environ)
    env.update(
        THESEUS_EVIDENCE_DB=str(workdir / EVIDENCE_DB),
        THESEUS_RECORD="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("PYTHONPATH", None)
    argv = [sys.executable, "-m", "traffic", "--sessions", str(sessions), "--seed", str(seed)]
    proc = subprocess.Popen(
        [*argv, "--json", "--progress"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None and proc.stdout is not None
    other: list[str] = []
    for line in proc.stderr:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "progress" and on_progress is not None:
            on_progress(int(parts[1]), int(parts[2]))
        elif parts and parts[0] != "progress":
            other.append(line.rstrip())
    output = proc.stdout.read()
    code = proc.wait(timeout=TRAFFIC_TIMEOUT)
    if code != 0:
        tail = " | ".join(other[-3:]) or "no output"
        raise DemoError(f"the traffic generator failed with exit status {code}: {tail}")
    try:
        counts: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise DemoError(f"the traffic generator printed no result: {output[-200:]!r}") from exc
    return counts


def curate_workdir(workdir: Path) -> list[FailureBatch]:
    """The failure batches of the demo's evidence, highest score first."""
    settings = load_settings(workdir / "theseus.toml")
    with EvidenceStore(settings.evidence_path) as store:
        return curate(store, settings)


def run_demo(
    workdir: Path | None,
    sessions: int,
    seed: int,
    on_progress: Callable[[int, int], None] | None = None,
    on_ready: Callable[[Path], None] | None = None,
    *,
    evolve: bool = False,
    evolve_seconds: float = 150.0,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Copy, commit, drive traffic, curate; with ``evolve`` also the evolution half
    (:func:`theseus.demo_evolve.run_evolution`) within ``evolve_seconds``."""
    folder, commit = prepare_workdir(workdir)
    if on_ready is not None:
        on_ready(folder)
    counts = run_traffic(folder, sessions, seed, on_progress)
    result = DemoResult(
        workdir=folder,
        sessions=sessions,
        seed=seed,
        requests=int(counts.get("requests", 0)),
        exceptions=int(counts.get("exceptions", 0)),
        wrong_answers=int(counts.get("wrong_answers", 0)),
        commit=commit,
        batches=curate_workdir(folder),
    )
    if evolve:
        from theseus.demo_evolve import run_evolution

        result.evolution = run_evolution(
            folder,
            lambda: run_traffic(folder, sessions, seed),
            seconds=evolve_seconds,
            progress=on_step,
        )
    return result
