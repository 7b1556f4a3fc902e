"""JSONL export/import: round trip, validation errors naming line and field, all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theseus.errors import EvidenceError
from theseus.evidence.records import ErrorInfo, FailureReport, Frame, TaskRecord
from theseus.evidence.store import EvidenceStore
from theseus.evidence.transfer import export_jsonl, import_jsonl, parse_jsonl

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


def sample(n: int) -> tuple[list[TaskRecord], list[FailureReport]]:
    tasks = [
        TaskRecord(
            id=f"t{i}",
            function="pkg:f",
            session_id="s",
            input={"args": [i], "kwargs": {"x": "é"}},
            output=None if i % 2 else [i],
            error=ErrorInfo(
                type="KeyError",
                message="'k'",
                frames=[Frame(file="pkg/a.py", line=3, function="f", code="x")],
            )
            if i % 2
            else None,
            duration_ms=1.5,
            code_version="abc",
            started_at=10.0 + i,
        )
        for i in range(n)
    ]
    reports = [
        FailureReport(
            id="r0",
            task_id="t0",
            kind="wrong_answer",
            expected=None,
            has_expected=True,
            created_at=50.0,
        )
    ]
    return tasks, reports


def test_round_trip_between_stores(tmp_path: Path) -> None:
    tasks, reports = sample(5)
    with EvidenceStore(tmp_path / "a.db") as a:
        a.add_many(tasks, reports)
        assert export_jsonl(a, tmp_path / "out" / "ev.jsonl") == (5, 1)
        assert export_jsonl(a, tmp_path / "failed.jsonl", failed_only=True) == (
            3,
            1,
        )  # t1, t3 + reported t0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ev.jsonl"]  # no temp file left
    with EvidenceStore(tmp_path / "b.db") as b:
        assert import_jsonl(b, tmp_path / "out" / "ev.jsonl") == (5, 1)
        assert import_jsonl(b, tmp_path / "out" / "ev.jsonl") == (0, 0)  # duplicates skipped
        assert b.tasks() == tasks and b.reports() == reports


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(json_values, min_size=1, max_size=5))
def test_any_json_input_round_trips(tmp_path: Path, values: list[object]) -> None:
    tasks = [
        TaskRecord(
            id=f"t{i}",
            function="m:f",
            input={"args": [v], "kwargs": {}},
            output=v,
            started_at=float(i),
        )
        for i, v in enumerate(values)
    ]
    from theseus.evidence.transfer import export_lines

    parsed, _ = parse_jsonl("\n".join(export_lines(tasks, [])))
    assert parsed == tasks


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('["task"]', "line 2: expected an object with exactly one key"),
        ('{"task": {}, "report": {}}', "line 2: expected an object with exactly one key"),
        ('{"candidate": {}}', "line 2: expected an object with exactly one key"),
        (
            '{"task": {"id": "x", "function": "f", "input": 1}}',
            "line 2: field 'task.started_at': Field required",
        ),
        (
            '{"task": {"id": "x", "function": "f", "input": 1, "started_at": "soon"}}',
            "field 'task.started_at'",
        ),
        (
            '{"task": {"id": "x", "function": "f", "input": 1, "started_at": 1, "colour": 2}}',
            "field 'task.colour'",
        ),
        (
            '{"report": {"id": "r", "task_id": "t", "kind": "k", "created_at": 1, "severity": "urgent"}}',
            "field 'report.severity'",
        ),
        (
            '{"task": {"id": "x", "function": "f", "input": 1, "started_at": 1, "error": {"type": "E", "message": "m", "frames": [{"file": "a", "line": "x", "function": "f"}]}}}',
            "field 'task.error.frames.0.line'",
        ),
    ],
)
def test_bad_line_names_line_and_field_and_imports_nothing(
    tmp_path: Path, line: str, message: str
) -> None:
    tasks, _ = sample(1)
    good = '{"task":' + tasks[0].model_dump_json() + "}"
    file = tmp_path / "ev.jsonl"
    file.write_text(good + "\n" + line + "\n")
    with EvidenceStore(tmp_path / "ev.db") as store:
        with pytest.raises(EvidenceError, match=message.replace("(", r"\(")):
            import_jsonl(store, file)
        assert store.counts()["tasks"] == 0  # all or nothing


def test_unreadable_files(tmp_path: Path) -> None:
    with EvidenceStore(tmp_path / "ev.db") as store:
        with pytest.raises(EvidenceError, match="cannot read"):
            import_jsonl(store, tmp_path / "missing.jsonl")
        (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
        with pytest.raises(EvidenceError, match="not UTF-8"):
            import_jsonl(store, tmp_path / "bin.jsonl")
        (tmp_path / "blocker").write_text("")
        with pytest.raises(EvidenceError, match="cannot write"):
            export_jsonl(store, tmp_path / "blocker" / "x.jsonl")


def test_blank_lines_are_ignored() -> None:
    tasks, reports = sample(2)
    text = (
        "\n\n"
        + '{"task":'
        + tasks[0].model_dump_json()
        + "}\n   \n"
        + json.dumps({"report": reports[0].model_dump()})
    )
    parsed_tasks, parsed_reports = parse_jsonl(text)
    assert parsed_tasks == tasks[:1] and parsed_reports == reports
