"""A caller-assigned task id: taken by the outermost @task call only, checked before use."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

import theseus
from theseus.errors import EvidenceError
from theseus.evidence import sdk
from theseus.evidence.records import TaskRecord
from theseus.evidence.store import EvidenceStore

from .conftest import load_module

AGENT = """\
import theseus

@theseus.task
def inner(value):
    return {"inner": theseus.current_task_id()}

@theseus.task
def outer(message):
    if message == "boom":
        raise ValueError("boom")
    return {"outer": theseus.current_task_id(), **inner(message)}

@theseus.task
async def aouter(message):
    return theseus.current_task_id()
"""


def _tasks(root: Path) -> dict[str, TaskRecord]:
    with EvidenceStore(root / ".theseus" / "evidence.db") as store:
        return {t.id: t for t in store.tasks()}


def test_the_outermost_call_takes_the_id_and_nested_calls_keep_their_own(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    wanted = uuid.uuid4().hex
    with sdk.session("s-1", task_id=wanted) as assigned:
        assert not assigned.taken
        reply = mod.outer("hi")
        assert assigned.taken and assigned.task_id == wanted
        again = mod.outer("hi")  # a second top-level call in the block: a fresh id
    assert reply["outer"] == wanted and reply["inner"] != wanted
    assert again["outer"] not in {wanted, reply["inner"]}
    tasks = _tasks(project)
    assert len(tasks) == 4
    assert tasks[wanted].function.endswith(":outer") and tasks[wanted].session_id == "s-1"
    assert tasks[reply["inner"]].function.endswith(":inner")
    assert sdk.current_task_id() is None


def test_a_failing_call_is_recorded_under_the_assigned_id_and_reports_land_on_it(
    project: Path,
) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    wanted = str(uuid.uuid4())  # the dashed uuid form is accepted too
    with sdk.session("s-2", task_id=wanted), pytest.raises(ValueError):
        mod.outer("boom")
    theseus.report_failure(wanted, kind="wrong_answer", expected={"ok": True})
    record = _tasks(project)[wanted]
    assert record.error is not None and record.error.type == "ValueError"
    with EvidenceStore(project / ".theseus" / "evidence.db") as store:
        [report] = store.reports(wanted)
    assert report.expected == {"ok": True}


def test_async_tasks_take_the_assigned_id(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    wanted = uuid.uuid4().hex

    async def go() -> str:
        with sdk.session("s-3", task_id=wanted):
            result: str = await mod.aouter("x")
            return result

    assert asyncio.run(go()) == wanted
    assert wanted in _tasks(project)


def test_with_recording_off_the_call_still_sees_the_assigned_id(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THESEUS_RECORD", "0")
    mod = load_module(project, "agentpkg/core.py", AGENT)
    wanted = uuid.uuid4().hex
    with sdk.session("s-4", task_id=wanted) as assigned:
        assert mod.outer("hi")["outer"] == wanted
    assert assigned.taken
    assert not (project / ".theseus" / "evidence.db").exists()


def test_without_an_assigned_id_every_call_gets_a_fresh_one(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    with sdk.session("s-5") as assigned:
        first, second = mod.outer("a")["outer"], mod.outer("b")["outer"]
    assert assigned.task_id is None and not assigned.taken
    assert first != second and {first, second} <= set(_tasks(project))


BAD_IDS: list[object] = [
    "",
    "short",
    "abc",
    "g" * 32,
    "0" * 65,
    "../../etc/passwd",
    "ab'; DROP TABLE t;--",
]
BAD_IDS += ["-" * 10, "abcd--ef12", "abcdef12-", "abc def12", "abcdef12\n", 12345678]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_malformed_assigned_id_is_refused_before_the_block_runs(
    project: Path, bad: object
) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    with pytest.raises(EvidenceError, match="is not a task id") as caught:
        sdk.session("s-6", task_id=bad)  # type: ignore[arg-type]
    assert "8-64 hex digits" in str(caught.value) and "\n" not in str(caught.value)
    mod.outer("still fine")
    assert len(_tasks(project)) == 2  # nothing recorded under the bad id


def test_an_inner_block_without_an_id_hides_the_outer_assignment(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    wanted = uuid.uuid4().hex
    with sdk.session("outer", task_id=wanted) as assigned:
        with sdk.session("inner"):
            assert mod.outer("x")["outer"] != wanted
        assert not assigned.taken
        assert mod.outer("y")["outer"] == wanted
    assert _tasks(project)[wanted].session_id == "outer"
