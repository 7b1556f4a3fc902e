"""Guards: attempts and parking, budgets, the circuit breaker, the kill switch, regressions."""

from __future__ import annotations

from pathlib import Path

import pytest

from theseus.config import BudgetSettings
from theseus.errors import TheseusError
from theseus.gate.attempts import AttemptGuard, evidence_key
from theseus.gate.breaker import CircuitBreaker
from theseus.gate.budgets import CycleBudget
from theseus.gate.regression import RegressionWatch
from theseus.gate.switch import KillSwitch
from theseus.lineage.archive import Archive
from theseus.lineage.audit import AuditLog
from theseus.lineage.db import Database


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- attempts -----------------------------------------------------------------------------


def test_signature_parks_after_max_attempts_until_new_evidence(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "t.db")
    guard = AttemptGuard(archive, max_attempts=2)
    key = evidence_key(["input-1", "input-2", "input-1"])
    assert guard.check("sig", evidence_key=key).allowed
    assert guard.record("sig", "failed", evidence_key=key) is False
    assert guard.record("sig", "rejected", evidence_key=key) is True
    verdict = guard.check("sig", evidence_key=key)
    assert not verdict.allowed and "parked after 2 attempts" in verdict.reason
    assert guard.parked() == ["sig"]
    assert guard.check("other", evidence_key=key).allowed
    # the same evidence again (in any order) does not unpark
    assert not guard.check("sig", evidence_key=evidence_key(["input-2", "input-1"])).allowed
    # new evidence does, and the count starts again
    assert guard.check("sig", evidence_key=evidence_key(["input-3"])).allowed
    assert guard.attempts("sig") == 0 and guard.parked() == []
    # parked state survives a restart
    guard.record("sig", "failed", evidence_key="k2")
    guard.record("sig", "failed", evidence_key="k2")
    archive.close()
    reopened = AttemptGuard(Archive(tmp_path / "t.db"), max_attempts=2)
    assert not reopened.check("sig", evidence_key="k2").allowed


def test_unpark_by_time_without_an_evidence_key(tmp_path: Path) -> None:
    clock = Clock()
    guard = AttemptGuard(Archive(tmp_path / "t.db"), max_attempts=1, clock=clock)
    guard.record("sig", "failed")
    assert not guard.check("sig", newest_evidence_at=999.0).allowed
    assert not guard.check("sig").allowed
    assert guard.check("sig", newest_evidence_at=1001.0).allowed


def test_promotion_resets_the_count(tmp_path: Path) -> None:
    guard = AttemptGuard(Archive(tmp_path / "t.db"), max_attempts=2)
    guard.record("sig", "failed")
    guard.record("sig", "promoted", candidate_id="abc")
    assert guard.attempts("sig") == 0 and guard.check("sig").allowed


# --- budget -------------------------------------------------------------------------------


def test_budget_limits_in_turn() -> None:
    clock = Clock(0.0)
    budget = CycleBudget(
        max_seconds=10, max_candidates=3, max_tokens=100, max_cost_usd=1.0, clock=clock
    )
    assert not budget.exhausted and budget.reason is None
    budget.charge(candidates=2, tokens=50, cost_usd=0.5)
    assert not budget.exhausted
    budget.charge(candidates=1)
    assert budget.reason == "budget: 3 candidates reached"
    budget.max_candidates = None
    budget.charge(tokens=50)
    assert budget.reason == "budget: 100 LLM tokens used"
    budget.max_tokens = None
    budget.charge(cost_usd=0.5)
    assert budget.reason == "budget: $1.00 spent"
    budget.max_cost_usd = None
    assert not budget.exhausted and budget.remaining_seconds == 10
    clock.now = 10.0
    assert budget.reason == "budget: 10 s of wall time used" and budget.remaining_seconds == 0
    data = budget.as_dict()
    assert data["candidates"] == 3 and data["tokens"] == 100 and data["exhausted"]


def test_budget_from_settings_and_bad_charge() -> None:
    budget = CycleBudget.from_settings(BudgetSettings(cycle_candidates=5, cycle_tokens=None))
    assert budget.max_candidates == 5 and budget.max_tokens is None
    with pytest.raises(TheseusError, match="cannot be negative"):
        budget.charge(tokens=-1)


# --- kill switch --------------------------------------------------------------------------


def test_kill_switch_pause_resume_audited(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    switch = KillSwitch(tmp_path, audit)
    assert not switch.is_paused() and switch.info() is None
    assert switch.pause("alice", "investigating")
    assert not switch.pause("bob", "again")
    info = switch.info()
    assert switch.is_paused() and info is not None and info["actor"] == "alice"
    assert switch.resume("alice", "done")
    assert not switch.resume("alice")
    kinds = [(r["kind"], r["actor"]) for r in audit.records()]
    assert kinds == [("pause", "alice"), ("resume", "alice")]
    assert audit.verify().ok


def test_a_hand_made_pause_file_pauses(tmp_path: Path) -> None:
    (tmp_path / "PAUSED").write_text("stop please\n")
    switch = KillSwitch(tmp_path)
    assert switch.is_paused()
    assert switch.info() == {"actor": "unknown", "reason": "stop please", "since": None}


# --- circuit breaker ----------------------------------------------------------------------


def test_breaker_trips_after_k_rollbacks_within_an_hour(tmp_path: Path) -> None:
    clock = Clock(10_000.0)
    switch = KillSwitch(tmp_path)
    breaker = CircuitBreaker(Database(tmp_path / "t.db"), limit=3, switch=switch, clock=clock)
    assert not breaker.record_rollback("c1", "error rate").tripped
    clock.now += 4000  # the first rollback leaves the window
    assert not breaker.record_rollback("c2", "latency").tripped
    assert not breaker.record_rollback("c3", "crash").tripped
    assert not switch.is_paused()
    state = breaker.record_rollback("c4", "crash")
    assert state.tripped and state.rollbacks == 3 and "evolution paused" in state.reason
    info = switch.info()
    assert switch.is_paused() and info is not None and info["actor"] == "circuit-breaker"
    breaker.reset()
    assert not breaker.state().tripped and breaker.state().rollbacks == 0


# --- regression detection -----------------------------------------------------------------


def test_fixed_signature_coming_back_is_flagged_then_held(tmp_path: Path) -> None:
    clock = Clock(100.0)
    watch = RegressionWatch(Database(tmp_path / "t.db"), max_refixes=1, clock=clock)
    assert watch.observe("sig", 500.0) is None  # never fixed: not a regression
    watch.mark_fixed("sig", "cand1")
    assert watch.observe("sig", 99.0) is None  # old evidence from before the fix
    flag = watch.observe("sig", 150.0)
    assert flag is not None and flag.returns == 1 and flag.may_refix
    assert "came back after candidate cand1" in flag.reason
    assert [f.signature for f in watch.flagged()] == ["sig"]
    clock.now = 200.0
    watch.mark_fixed("sig", "cand2")  # the one allowed re-fix
    assert watch.flagged() == []
    again = watch.observe("sig", 250.0)
    assert again is not None and again.returns == 2 and not again.may_refix
    assert "held for a person" in again.reason
    watch.forget("sig")
    assert watch.observe("sig", 300.0) is None


def test_failures_before_a_fix_goes_live_are_not_a_return(tmp_path: Path) -> None:
    clock = Clock(100.0)
    watch = RegressionWatch(Database(tmp_path / "t.db"), clock=clock)
    assert not watch.is_fixed("sig")
    watch.mark_fixed("sig", "cand1")  # promoted (committed) at 100
    assert watch.is_fixed("sig")
    clock.now = 110.0
    watch.went_live("sig")  # the live service finished its health watch at 110
    assert watch.observe("sig", 105.0) is None  # the old version answered until the swap
    assert watch.is_fixed("sig")
    flag = watch.observe("sig", 111.0)
    assert flag is not None and flag.fixed_at == 110.0
    assert not watch.is_fixed("sig")  # flagged: open again for the cycle's guards
