"""The base's outcomes: computed once per (base commit, check set), cached atomically."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from mini_agent import mini_agent

from theseus.config import Settings
from theseus.verify.baseline import (
    Baseline,
    baseline_path,
    check_set_hash,
    get_baseline,
    load_baseline,
    run_baseline,
)

mini = mini_agent()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return mini.make_project(tmp_path / "p").settings()  # type: ignore[no-any-return]


def test_the_check_set_hash_follows_cases_and_test_command(settings: Settings) -> None:
    cases = [mini.case("a", 1, 2)]
    same = check_set_hash(settings, "sig", cases)
    assert same == check_set_hash(settings, "sig", list(cases))
    assert same != check_set_hash(settings, "sig", [mini.case("a", 1, 3)])
    assert same != check_set_hash(settings, "other", cases)
    changed = settings.model_copy(
        update={"tests": settings.tests.model_copy(update={"command": "python -m pytest tests/x"})}
    )
    assert same != check_set_hash(changed, "sig", cases)


def test_computed_once_then_read_from_the_cache(settings: Settings) -> None:
    calls: list[int] = []

    def compute() -> Baseline:
        calls.append(1)
        return Baseline(base_commit="abc", check_hash="h", outcomes={"t::a": "passed"})

    first, cached_first = get_baseline(settings, "abc", "sig", [], compute)
    second, cached_second = get_baseline(settings, "abc", "sig", [], compute)
    assert (cached_first, cached_second) == (False, True)
    assert first.outcomes == second.outcomes == {"t::a": "passed"}
    assert len(calls) == 1
    path = baseline_path(settings, "abc", check_set_hash(settings, "sig", []))
    assert path.parent == settings.state_dir / "baselines"
    assert not list(path.parent.glob("*.tmp"))  # atomic write leaves no temp file behind


def test_concurrent_requests_compute_it_once(settings: Settings) -> None:
    calls: list[int] = []
    results: list[Baseline] = []

    def compute() -> Baseline:
        calls.append(1)
        time.sleep(0.2)  # widen the race window; not a timing assertion
        return Baseline(base_commit="abc", check_hash="h")

    def worker() -> None:
        results.append(get_baseline(settings, "abc", "sig", [], compute)[0])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 4


def test_a_damaged_cache_file_is_recomputed(settings: Settings) -> None:
    path = baseline_path(settings, "abc", check_set_hash(settings, "sig", []))
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert load_baseline(path) is None
    baseline, cached = get_baseline(
        settings, "abc", "sig", [], lambda: Baseline(base_commit="abc", check_hash="h")
    )
    assert not cached and load_baseline(path) == baseline


@pytest.mark.e2e
def test_run_baseline_on_a_real_project(tmp_path: Path) -> None:
    project = mini.make_project(tmp_path / "p")
    settings = project.settings()
    baseline = run_baseline(project.root, settings, project.head, "sig", [mini.case("t1", 2, 3)])
    replay = {k: v for k, v in baseline.outcomes.items() if k.startswith(".theseus_replay/")}
    suite = {k: v for k, v in baseline.outcomes.items() if k.startswith("tests/")}
    assert list(replay.values()) == ["failed"]  # the seeded bug
    assert suite == {
        "tests/test_skills.py::test_greet": "passed",
        "tests/test_skills.py::test_double": "passed",
        "tests/test_skills.py::test_add_zero": "passed",
    }
    assert baseline.suite_ok
