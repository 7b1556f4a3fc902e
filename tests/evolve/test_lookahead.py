"""The next batch's search, run while the cycle waits on a health watch."""

from __future__ import annotations

import threading
from contextlib import closing
from pathlib import Path

import pytest

from theseus.change.candidate import Candidate
from theseus.config import load_settings
from theseus.demo import curate_workdir, prepare_workdir, record_in_process
from theseus.errors import TheseusError
from theseus.evolve import Cycle
from theseus.evolve.lookahead import Lookahead, searches_ahead
from theseus.lineage import revert
from theseus.propose.repair.proposer import RepairProposer
from theseus.runtime import DeployVerdict


def _candidate(diff: str = "d") -> Candidate:
    return Candidate.create(base_commit="a" * 40, diff=diff, proposer="repair")


def test_a_search_ahead_is_handed_over_only_for_its_batch_base_and_proposer() -> None:
    ahead = Lookahead()
    release = threading.Event()

    def search(note, rejected):  # type: ignore[no-untyped-def]
        note("tried 12 mutants")
        assert release.wait(30)
        return [_candidate()]

    assert ahead.start("sig", "c1", "repair", search)
    assert not ahead.start("other", "c1", "repair", search)  # one at a time
    assert not ahead.ready("sig", "c1")  # still running
    assert ahead.take("sig", "c2", "repair") is None  # the line moved on: a rollback
    assert ahead.take("other", "c1", "repair") is None
    release.set()
    prepared = ahead.take("sig", "c1", "repair")  # waits for it: the work would be redone
    assert prepared is not None and len(prepared.candidates) == 1
    heard: list[str] = []
    assert prepared.replay(heard.append, lambda r: None) == prepared.candidates
    assert heard[1:] == ["tried 12 mutants"]
    assert ahead.take("sig", "c1", "repair") is None  # handed over once
    assert (ahead.started, ahead.used) == (1, 1)


def test_an_error_in_the_search_ahead_is_raised_in_the_cycle_that_takes_it() -> None:
    ahead = Lookahead()

    def search(note, rejected):  # type: ignore[no-untyped-def]
        raise TheseusError("the replay found nothing failing")

    ahead.start("sig", "c1", "repair", search)
    ahead.join()
    assert not ahead.ready("sig", "c1")
    prepared = ahead.take("sig", "c1", "repair")
    assert prepared is not None
    with pytest.raises(TheseusError, match="nothing failing"):
        prepared.replay(lambda line: None, lambda r: None)


def test_only_an_offline_proposer_searches_ahead() -> None:
    class ModelProposer:
        name = "llm"

    assert searches_ahead(RepairProposer())
    assert not searches_ahead(ModelProposer())  # type: ignore[arg-type]


@pytest.mark.e2e
@pytest.mark.parametrize("first_verdict", ["healthy", "rolled_back"])
def test_the_second_fix_of_a_cycle_was_searched_during_the_first_ones_health_watch(
    tmp_path: Path, first_verdict: str
) -> None:
    """A real cycle on the example agent; the live service is a stand-in that takes its
    time over the health watch, as a real one does. After a rollback the search ahead was
    made on a commit the line no longer has, so the cycle searches again on the revert."""
    folder, _ = prepare_workdir(tmp_path / "repo")
    record_in_process(folder, sessions=60, seed=7)
    settings = load_settings(folder / "theseus.toml")
    crashes = [b for b in curate_workdir(folder) if b.location is not None][:2]
    assert len(crashes) == 2
    with closing(Cycle(settings)) as cycle:
        cycle.url = "http://127.0.0.1:9"  # never dialled: the deploy below stands in
        watched: list[bool] = []

        def deploy(candidate, batch, promotion, url):  # type: ignore[no-untyped-def]
            # the watch lasts until the search ahead is done (a slow machine may take long)
            cycle.lookahead.join()
            watched.append(cycle.lookahead.started > 0)
            if watched[1:] or first_verdict == "healthy":
                return DeployVerdict(verdict="healthy", live=promotion.commit)
            revert(cycle.root, promotion.commit, "the stand-in says worse")
            return DeployVerdict(verdict="rolled_back", reason="the stand-in says worse")

        cycle.landing.deploy = deploy  # type: ignore[method-assign]
        report = cycle.run(only={b.signature for b in crashes})
    first, second = report.outcomes
    assert second.outcome == "promoted", second.reason
    assert watched[0] and not first.searched_ahead
    if first_verdict == "healthy":
        assert first.outcome == "promoted" and second.searched_ahead
        assert any("searched during the last health watch" in n for n in second.notes)
        assert cycle.lookahead.used == 1
    else:
        assert first.outcome == "rolled_back" and not second.searched_ahead
        assert cycle.lookahead.used == 0 and cycle.lookahead.started == 1


def test_a_spent_cycle_budget_searches_nothing_ahead_and_gives_a_search_no_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the budget line the cycle may still land what was found ahead, but it starts
    no new search ahead, and a search's allowance is what is left: 0 s, not unlimited."""
    from theseus.evolve import cycle as cycle_module
    from theseus.gate import CycleBudget

    folder, _ = prepare_workdir(tmp_path / "repo")
    settings = load_settings(folder / "theseus.toml")
    seen: list[float] = []

    def fake_propose(batch, settings, root, base, budget, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(budget.seconds_left())
        return []

    monkeypatch.setattr(cycle_module, "propose", fake_propose)
    with closing(Cycle(settings)) as cycle:
        cycle.budget = CycleBudget(max_seconds=0.0)
        assert cycle.budget.exhausted
        fake_batch = _batch("sig")
        cycle.upcoming = [fake_batch]
        cycle._search_ahead("c" * 40)
        assert cycle.lookahead.started == 0
        cycle._search(fake_batch, "c" * 40, cycle.proposers[0])(lambda line: None, lambda r: None)
    assert seen == [0.0]


def _batch(signature: str):  # type: ignore[no-untyped-def]
    from theseus.evidence import FailureBatch

    return FailureBatch.model_construct(
        signature=signature, title="t", count=1, score=1.0, cases=[], task_ids=[], holdout=[],
        frames=[], location=None,
    )  # fmt: skip
