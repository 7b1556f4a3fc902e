"""`theseus demo`: the example agent served live, its failures recorded, then evolved away.

The demo works on a *copy* of the bundled example agent in a git repository of its own, so
nothing it does touches the installed package and everything it leaves can be inspected
afterwards (``theseus evidence list``, ``theseus versions``, ``theseus audit verify`` in that
folder). The copy is served by ``theseus serve`` on a free local port; customer traffic goes
to it over HTTP; the workers record the agent's exceptions and the traffic's oracle reports
wrong answers against the task ids the service returns, exactly as a deployed agent would
record evidence. The curator then groups what was recorded into failure batches.

With evolution on (the default) the demo then runs evolution cycles on that evidence while
traffic continues (see :mod:`theseus.demo_evolve`): each fix is verified in the sandbox,
committed with its regression test and hot-swapped into the running service.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import theseus
from theseus.config import load_settings
from theseus.demo_live import free_port, run_traffic, serving, traffic_argv
from theseus.errors import TheseusError
from theseus.evidence.curator import curate
from theseus.evidence.records import FailureBatch
from theseus.evidence.store import EvidenceStore

if TYPE_CHECKING:
    from theseus.demo_evolve import EvolutionResult

EXAMPLE = "support_agent"
TRAFFIC_CONCURRENCY = 4
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
    dropped: int = 0
    service: str = ""
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
            "service": self.service,
            "served_live": True,
            "dropped_requests": self.dropped,
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
            data["dropped_requests"] = self.dropped + self.evolution.dropped
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


def prepare_workdir(
    workdir: Path | None, example: Path | None = None, *, port: int | None = None
) -> tuple[Path, str]:
    """Copy the example into ``workdir`` (default: a new temporary folder) and make it a git
    repository with one commit; returns the folder and the commit id. With ``port`` the
    copy's ``[runtime] port`` is set to it, so ``theseus serve`` / ``deploy`` / ``evolve``
    run in that folder all find the same service."""
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
        if port is not None:
            set_port(target / "theseus.toml", port)
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


def set_port(config: Path, port: int) -> None:
    """Point ``[runtime] port`` of ``config`` at ``port`` (the example ships with one)."""
    text = config.read_text(encoding="utf-8")
    updated, count = re.subn(r"(?m)^port = \d+$", f"port = {port}", text)
    if count != 1:
        raise DemoError(f"{config} has no single '[runtime] port = N' line to point at {port}")
    config.write_text(updated, encoding="utf-8")


def record_in_process(workdir: Path, sessions: int, seed: int) -> dict[str, Any]:
    """Play ``sessions`` conversations against the copy's own code in a subprocess, without
    a service (evidence for tests and tools that need failures but not a live agent)."""
    return run_traffic(workdir, traffic_argv(None, seed=seed, sessions=sessions))


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
    evolve_seconds: float = 135.0,
    on_step: Callable[[str], None] | None = None,
) -> DemoResult:
    """Copy, commit, serve, drive traffic over HTTP, curate; with ``evolve`` also the
    evolution half (:func:`theseus.demo_evolve.run_evolution`) within ``evolve_seconds``."""
    port = free_port()
    folder, commit = prepare_workdir(workdir, port=port)
    if on_ready is not None:
        on_ready(folder)
    with serving(folder, port) as service:
        argv = traffic_argv(
            service.url, seed=seed, sessions=sessions, concurrency=TRAFFIC_CONCURRENCY
        )
        counts = run_traffic(folder, argv, on_progress)
        result = DemoResult(
            workdir=folder,
            sessions=sessions,
            seed=seed,
            requests=int(counts.get("requests", 0)),
            exceptions=int(counts.get("exceptions", 0)),
            wrong_answers=int(counts.get("wrong_answers", 0)),
            dropped=int(counts.get("dropped", 0)),
            service=service.url,
            commit=commit,
            batches=curate_workdir(folder),
        )
        if evolve:
            from theseus.demo_evolve import run_evolution

            result.evolution = run_evolution(
                folder,
                service,
                lambda: run_traffic(folder, argv),
                seed=seed,
                seconds=evolve_seconds,
                progress=on_step,
            )
    return result
