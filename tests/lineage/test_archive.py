"""The archive: every candidate with parent, scores and an explicit status history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theseus.change.candidate import Candidate
from theseus.errors import NotFound, TheseusError
from theseus.lineage.archive import STATUSES, TRANSITIONS, Archive, IllegalTransition
from theseus.lineage.db import Database, StateError


def make(
    diff: str = "--- a/x\n+++ b/x\n", sig: str = "sigA", parent: str | None = None
) -> Candidate:
    return Candidate.create(
        base_commit="b" * 40,
        diff=diff,
        proposer="repair",
        signature=sig,
        rationale="why",
        parent_id=parent,
        meta={"evidence_ids": ["e1", "e2"]},
    )


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(tmp_path / ".theseus" / "theseus.db")


def test_add_get_and_prefix(archive: Archive) -> None:
    c = archive.add(make())
    assert archive.get(c.id) == c
    assert archive.get(c.id[:5]).id == c.id
    assert c.meta == {"evidence_ids": ["e1", "e2"]}
    with pytest.raises(NotFound, match="no candidate"):
        archive.get("ffffffffffff")
    with pytest.raises(TheseusError, match="empty candidate id"):
        archive.get("  ")


def test_ambiguous_prefix_is_one_clear_error(archive: Archive) -> None:
    ids = [archive.add(make(diff=f"d{i}")).id for i in range(40)]
    firsts = [i[0] for i in ids]
    shared = next(ch for ch in firsts if firsts.count(ch) > 1)
    with pytest.raises(TheseusError, match="ambiguous"):
        archive.get(shared)


def test_prefix_with_like_wildcards_is_literal(archive: Archive) -> None:
    archive.add(make())
    with pytest.raises(NotFound):
        archive.get("%")
    with pytest.raises(NotFound):
        archive.get("_")


def test_add_is_idempotent_and_keeps_status(archive: Archive) -> None:
    c = archive.add(make())
    archive.set_status(c.id, "verified", "fixed 3/3")
    again = archive.add(make())
    assert again.status == "verified"
    assert len(archive.history(c.id)) == 2


def test_full_life_and_history(archive: Archive) -> None:
    c = archive.add(make())
    for status in ("verified", "approved", "promoted", "rolled_back"):
        archive.set_status(c.id, status, f"to {status}", actor="alice")
    history = archive.history(c.id)
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "proposed"),
        ("proposed", "verified"),
        ("verified", "approved"),
        ("approved", "promoted"),
        ("promoted", "rolled_back"),
    ]
    assert history[-1].actor == "alice" and history[-1].reason == "to rolled_back"


def test_illegal_transition_is_refused_with_one_line(archive: Archive) -> None:
    c = archive.add(make())
    archive.set_status(c.id, "failed", "fixed 0/3")
    with pytest.raises(IllegalTransition) as err:
        archive.set_status(c.id, "promoted", "sneaky")
    assert "is failed; it cannot become promoted" in str(err.value)
    assert "\n" not in str(err.value)
    assert archive.status(c.id) == "failed"
    with pytest.raises(TheseusError, match="unknown candidate status"):
        archive.set_status(c.id, "great", "no")


@given(steps=st.lists(st.sampled_from(STATUSES), max_size=8))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_status_graph_is_enforced(
    tmp_path_factory: pytest.TempPathFactory, steps: list[str]
) -> None:
    archive = Archive(tmp_path_factory.mktemp("a") / "t.db")
    c = archive.add(make())
    current = "proposed"
    for step in steps:
        if step in TRANSITIONS[current]:
            archive.set_status(c.id, step, "ok")
            current = step
        else:
            with pytest.raises(IllegalTransition):
                archive.set_status(c.id, step, "no")
        assert archive.status(c.id) == current
    archive.close()


def test_list_filters(archive: Archive) -> None:
    a = archive.add(make(diff="1", sig="s1"))
    b = archive.add(make(diff="2", sig="s2"))
    archive.add(make(diff="3", sig="s1"))
    archive.set_status(b.id, "verified", "ok")
    assert archive.list(signature="s1")[0].id == a.id
    assert len(archive.list(signature="s1")) == 2
    assert [c.id for c in archive.list(status="verified")] == [b.id]
    assert len(archive.list(limit=2)) == 2
    with pytest.raises(TheseusError, match="unknown candidate status"):
        archive.list(status="nope")


def test_scores_round_trip(archive: Archive) -> None:
    c = archive.add(make())
    assert archive.scores(c.id) is None
    scores = {
        "fixed": 3,
        "total": 4,
        "tests_passed": 10,
        "tests_failed": 0,
        "regressions": [],
        "duration": 1.25,
    }
    archive.record_scores(c.id[:6], scores)
    assert archive.scores(c.id) == scores


def test_ancestry_lets_a_cycle_start_from_any_candidate(archive: Archive) -> None:
    a = archive.add(make(diff="1"))
    b = archive.add(make(diff="2", parent=a.id))
    c = archive.add(make(diff="3", parent=b.id))
    assert [x.id for x in archive.ancestry(c.id)] == [c.id, b.id, a.id]


def test_attempts_per_signature(archive: Archive) -> None:
    assert archive.attempts("s") == 0
    archive.record_attempt("s", "failed")
    archive.record_attempt("s", "rejected", "abc")
    archive.record_attempt("other", "failed")
    assert archive.attempts("s") == 2
    assert archive.attempts("s", since=4e9) == 0


def test_state_survives_reopen_and_has_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    a = Archive(path)
    c = a.add(make())
    a.set_status(c.id, "verified", "ok")
    a.close()
    b = Archive(path)
    assert b.status(c.id) == "verified"
    assert b.db.schema_version("archive") == 1
    assert b.db.query("PRAGMA journal_mode")[0][0] == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    Archive(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_versions SET version = 99 WHERE component = 'archive'")
    with pytest.raises(StateError, match="schema version 99"):
        Archive(path)


def test_unopenable_database_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "not.db"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StateError, match="cannot open the state database"):
        Database(bad)
