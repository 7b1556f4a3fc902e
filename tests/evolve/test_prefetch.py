"""The next batch's baseline, computed while the cycle waits on a health watch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mini_agent import mini_agent

from theseus.change.candidate import Candidate
from theseus.evolve.prefetch import BaselinePrefetch
from theseus.verify.pipeline import verify_candidate

pytestmark = pytest.mark.e2e


mini = mini_agent()


def test_a_prefetched_baseline_is_the_one_verification_uses(tmp_path: Path) -> None:
    project: Any = mini.make_project(tmp_path / "mini")
    settings = project.settings()
    prefetch = BaselinePrefetch(settings, project.root)
    prefetch.start(project.head, mini.add_batch())
    prefetch.start(project.head, mini.add_batch())  # one at a time: the second is ignored
    prefetch.join()
    assert prefetch.started == 1
    assert len(list((project.root / ".theseus" / "baselines").glob("*.json"))) == 1
    candidate = Candidate.create(
        base_commit=project.head, diff=project.diff(mini.FIX), proposer="t"
    )
    result = verify_candidate(candidate, mini.add_batch(), settings, project.root)
    assert result.status == "verified" and result.baseline_cached


def test_nothing_to_prefetch_starts_nothing(tmp_path: Path) -> None:
    prefetch = BaselinePrefetch(None, tmp_path)  # type: ignore[arg-type]
    prefetch.start("0" * 40, None)
    prefetch.join()
    assert prefetch.started == 0
