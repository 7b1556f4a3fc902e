"""`theseus demo`: the example agent served live, its failures recorded, then evolved away.

The demo works on a *copy* of the bundled example agent in a git repository of its own, so
nothing it does touches the installed package and everything it leaves can be inspected
afterwards (``theseus evidence list``, ``theseus versions``, ``theseus audit verify`` in that
folder). The copy is served by ``theseus serve`` on a free local port; customer traffic goes
to it over HTTP; the workers record the agent's exceptions and the traffic's oracle reports
wrong answers against the task ids the service returns, exactly as a deployed agent would
record evidence. The curator then groups what was recorded into failure batches.

With evolution on (the default) the demo then runs evolution cycles on that evidence while
traffic continues (see :mod:`theseus.demo.evolution`): each fix is verified in the sandbox,
committed with its regression test and hot-swapped into the running service.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from theseus.demo.evolution import EvolutionResult, run_evolution
from theseus.demo.live import demo_env, free_port, run_traffic, serving, traffic_argv
from theseus.demo.manifest import load_manifest
from theseus.demo.services import running_services
from theseus.demo.workdir import EXAMPLE, curate_workdir, find_example, prepare_workdir
from theseus.evidence import FailureBatch
from theseus.lineage import open_audit

TRAFFIC_CONCURRENCY = 4


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
    example: str = EXAMPLE
    first_live_fix_seconds: float | None = None

    def as_json(self) -> dict[str, Any]:
        data = {
            "example": self.example,
            "first_live_fix_seconds": self.first_live_fix_seconds,
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
    example: str = EXAMPLE,
) -> DemoResult:
    """Copy, commit, serve, drive traffic over HTTP, curate; with ``evolve`` also the
    evolution half (:func:`theseus.demo.evolution.run_evolution`) within ``evolve_seconds``.
    ``example`` names the bundled example; the services its ``demo.json`` lists (a stand-in
    model server) run for the whole demo."""
    began = time.time()
    port = free_port()
    folder, commit = prepare_workdir(workdir, find_example(example), port=port)
    if on_ready is not None:
        on_ready(folder)
    manifest = load_manifest(folder)
    with (
        running_services(folder, manifest.services, demo_env(folder)),
        serving(folder, port) as service,
    ):
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
            result.evolution = run_evolution(
                folder,
                service,
                lambda: run_traffic(folder, argv),
                seed=seed,
                seconds=evolve_seconds,
                progress=on_step,
            )
    result.example = example
    result.first_live_fix_seconds = _first_live_fix(folder, began)
    return result


def _first_live_fix(folder: Path, began: float) -> float | None:
    """Seconds from the demo's start to the end of the first health watch a fix passed
    (the first correct fix serving live), from the audit log; None when none did."""
    for record in open_audit(folder).records():
        payload = record.get("payload") or {}
        if record.get("kind") == "health" and payload.get("verdict") == "healthy":
            when = dt.datetime.fromisoformat(str(record["time"])).timestamp()
            return round(when - began, 1)
    return None
