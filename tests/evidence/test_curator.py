"""The curator: batches, ranking, severity, replay cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from theseus._jsonvalue import marker
from theseus.config import Settings, parse_settings
from theseus.errors import EvidenceError
from theseus.evidence.curator import curate
from theseus.evidence.records import ErrorInfo, FailureReport, Frame, TaskRecord
from theseus.evidence.store import EvidenceStore


def settings(tmp_path: Path, **evidence: str) -> Settings:
    data = {
        "agent": {"package": "pkg", "entrypoint": "pkg.agent:handle"},
        "paths": {"mutable": ["pkg/**/*.py"]},
        "evidence": evidence,
        "replay": {"max_cases": 3},
    }
    return parse_settings(data, root=tmp_path)


def task(
    i: int,
    *,
    error: str | None = None,
    func: str = "lookup",
    arg: object = None,
    version: str = "v1",
) -> TaskRecord:
    return TaskRecord(
        id=f"t{i:03d}",
        function="pkg.agent:handle",
        input={"args": [arg if arg is not None else i], "kwargs": {}},
        output=None if error else "ok",
        error=ErrorInfo(
            type=error,
            message=f"missing {i}",
            frames=[
                Frame(file="pkg/agent.py", line=3, function="handle"),
                Frame(file=f"pkg/{func}.py", line=9, function=func),
            ],
        )
        if error
        else None,
        started_at=100.0 + i,
        code_version=version,
    )


def rep(
    i: int, task_id: str, *, severity: str = "medium", kind: str = "wrong_answer", **extra: object
) -> FailureReport:
    return FailureReport(
        id=f"r{i}", task_id=task_id, kind=kind, severity=severity, created_at=500.0 + i, **extra
    )  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    s = EvidenceStore(tmp_path / "ev.db")
    s.add_tasks(
        [task(i, error="KeyError") for i in range(4)]  # 4 x high = 12
        + [task(10 + i, error="ZeroDivisionError", func="refund") for i in range(2)]  # 2 x high = 6
        + [task(20 + i) for i in range(6)]  # passing calls, some reported below
    )
    for i in range(5):  # 5 reports on 5 tasks: semantic, medium -> 10
        s.add_report(
            rep(
                i, f"t{20 + i:03d}", expected={"answer": i} if i == 0 else None, has_expected=i == 0
            )
        )
    s.add_report(rep(9, "t999"))  # a report about a task this store never saw
    return s


def test_batches_ranked_by_count_times_severity(tmp_path: Path, store: EvidenceStore) -> None:
    batches = curate(store, settings(tmp_path))
    assert [(b.kind, b.count, b.severity, b.score) for b in batches] == [
        ("exception", 4, "high", 12.0),
        ("semantic", 5, "medium", 10.0),
        ("exception", 2, "high", 6.0),
    ]
    top = batches[0]
    assert top.title == "KeyError in pkg/lookup.py:lookup: missing <num>"
    assert top.location == "pkg/lookup.py:lookup" and top.frames[-1].function == "lookup"
    assert top.task_ids == ["t000", "t001", "t002", "t003"]
    assert (top.first_seen, top.last_seen) == (100.0, 103.0)
    assert len(top.cases) == 3 and all(c.oracle.kind == "no_raise" for c in top.cases)
    semantic = batches[1]
    assert semantic.title == "wrong_answer from pkg.agent:handle"
    oracles = {c.task_id: c.oracle for c in semantic.cases}
    assert oracles["t020"].kind == "expected" and oracles["t020"].expected == {"answer": 0}


def test_severity_filter_and_exception_severity(tmp_path: Path, store: EvidenceStore) -> None:
    assert [b.kind for b in curate(store, settings(tmp_path), min_severity="high")] == [
        "exception",
        "exception",
    ]
    low = settings(tmp_path, exception_severity="low", min_severity="medium")
    assert [b.kind for b in curate(store, low)] == ["semantic"]
    with pytest.raises(EvidenceError, match="unknown severity"):
        curate(store, settings(tmp_path), min_severity="urgent")


def test_report_on_exception_raises_its_severity_and_gives_oracle(
    tmp_path: Path, store: EvidenceStore
) -> None:
    store.add_report(rep(20, "t010", severity="critical", expected=7, has_expected=True))
    batches = curate(store, settings(tmp_path))
    zero = next(b for b in batches if b.title.startswith("ZeroDivisionError"))
    assert zero.severity == "critical" and zero.score == 2 * 4
    assert {c.task_id: c.oracle.kind for c in zero.cases} == {
        "t010": "expected",
        "t011": "no_raise",
    }


def test_replay_cases_dedupe_and_skip_markers(tmp_path: Path) -> None:
    with EvidenceStore(tmp_path / "ev.db") as s:
        s.add_tasks(
            [
                task(1, error="KeyError", arg="same"),
                task(2, error="KeyError", arg="same"),
                task(3, error="KeyError", arg=marker(object())),
                task(4, error="KeyError", arg="other"),
            ]
        )
        s.add_report(rep(1, "t002", expected="fixed", has_expected=True, severity="high"))
        [batch] = curate(s, settings(tmp_path))
    assert batch.count == 4
    assert [(c.task_id, c.oracle.kind) for c in batch.cases] == [
        ("t002", "expected"),
        ("t004", "no_raise"),
    ]


def test_since_and_code_version(tmp_path: Path, store: EvidenceStore) -> None:
    store.add_tasks([task(50, error="KeyError", version="v2")])
    batches = curate(store, settings(tmp_path), code_version="v2")
    assert [(b.count, b.task_ids) for b in batches] == [(1, ["t050"])]
    recent = curate(store, settings(tmp_path), since=122.0)
    assert [(b.kind, b.count) for b in recent] == [("semantic", 3), ("exception", 1)]
