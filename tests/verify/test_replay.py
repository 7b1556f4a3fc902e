"""Evidence -> generated pytest module -> run in the real sandbox against a real project."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mini_agent import mini_agent

from theseus.evidence.records import Oracle, ReplayCase
from theseus.verify.replay import (
    case_id,
    module_name,
    replayable,
    run_replay,
    write_replay_module,
)

mini = mini_agent()


@given(st.lists(st.text(max_size=30), max_size=20))
def test_case_ids_are_unique_safe_and_stable(task_ids: list[str]) -> None:
    first: set[str] = set()
    second: set[str] = set()
    ids = [case_id(t, first) for t in task_ids]
    assert ids == [case_id(t, second) for t in task_ids]  # deterministic
    assert len(set(ids)) == len(ids)
    for cid in ids:
        assert cid and all(c.isalnum() or c in "_.-" for c in cid)


def test_plain_task_ids_are_kept_as_they_are() -> None:
    assert case_id("3f2a9c0e-11", set()) == "3f2a9c0e-11"


def test_module_name_is_stable_per_signature() -> None:
    assert module_name("sig") == module_name("sig") != module_name("other")
    assert module_name("a/b:c d").startswith("test_replay_")


@pytest.mark.parametrize(
    ("case_input", "function", "why"),
    [
        (
            {"args": [{"__theseus_unserializable__": "Lock", "repr": "<lock>"}]},
            "m:f",
            "not captured",
        ),
        ([1, 2], "m:f", "not {'args'"),
        ({"args": [], "kwargs": [1]}, "m:f", "kwargs"),
        ({"args": []}, "no_colon", "module:qualname"),
    ],
)
def test_unreplayable_cases_are_skipped_with_a_reason(
    tmp_path: Path, case_input: object, function: str, why: str
) -> None:
    bad = ReplayCase(
        task_id="bad", function=function, input=case_input, oracle=Oracle(kind="no_raise")
    )
    assert why in (replayable(bad) or "")
    project = mini.make_project(tmp_path / "p")
    module = write_replay_module(
        [bad, mini.case("good", 1, 1)], project.root, project.settings(), "s"
    )
    assert set(module.skipped) == {"bad"}
    assert list(module.node_to_task.values()) == ["good"]


def test_module_is_written_in_the_workspace_and_cases_known_to_fail_come_first(
    tmp_path: Path,
) -> None:
    project = mini.make_project(tmp_path / "p")
    cases = [mini.case("a", 1, 1), mini.case("b", 2, 2), mini.case("c", 3, 3)]
    plain = write_replay_module(cases, project.root, project.settings(), "sig")
    node_b = plain.task_to_node["b"]
    node_a = plain.task_to_node["a"]
    reordered = write_replay_module(
        cases, project.root, project.settings(), "sig", base_passing={node_a}
    )
    assert reordered.node_to_task == plain.node_to_task  # ids do not depend on the order
    assert reordered.path.parent == project.root / ".theseus_replay"
    source = reordered.path.read_text()
    compile(source, str(reordered.path), "exec")
    assert source.index('"id":"b"') < source.index('"id":"c"') < source.index('"id":"a"')
    assert node_b.startswith(".theseus_replay/test_replay_")


def test_max_cases_caps_the_module(tmp_path: Path) -> None:
    project = mini.make_project(tmp_path / "p")
    settings = project.settings().model_copy(
        update={"replay": project.settings().replay.model_copy(update={"max_cases": 2})}
    )
    module = write_replay_module(
        [mini.case(f"t{i}", i, i) for i in range(5)], project.root, settings, "s"
    )
    assert len(module.node_to_task) == 2


@pytest.mark.e2e
def test_replay_runs_in_the_sandbox_and_maps_outcomes_to_cases(tmp_path: Path) -> None:
    project = mini.make_project(tmp_path / "p")
    settings = project.settings()
    hang = ReplayCase(
        task_id="hang",
        function="mini.skills.calc:add",
        input={"args": [[1], None], "kwargs": {}},  # list - None raises TypeError
        oracle=Oracle(kind="no_raise"),
    )
    ok_no_raise = ReplayCase(
        task_id="fine",
        function="mini.skills.greet:greet",
        input={"args": [], "kwargs": {"name": "Bo"}},
        oracle=Oracle(kind="no_raise"),
    )
    cases = [mini.case("wrong", 2, 3), mini.case("zero", 0, 0), hang, ok_no_raise]
    module = write_replay_module(cases, project.root, settings, "sig")
    run = run_replay(module, project.root, settings, exitfirst=False)
    by_task = {task: run.checks[node].outcome for node, task in module.node_to_task.items()}
    assert by_task == {"wrong": "failed", "zero": "passed", "hang": "failed", "fine": "passed"}
    assert (
        "wrong_answer: reply.result: expected 5, got -1"
        in run.checks[module.task_to_node["wrong"]].message
    )
    assert run.backend
    # Recording was off: no evidence store appeared in the project.
    assert not (project.root / ".theseus" / "evidence.db").exists()


@pytest.mark.e2e
def test_a_hanging_case_is_stopped_by_the_per_case_timeout(tmp_path: Path) -> None:
    project = mini.make_project(tmp_path / "p")
    (project.root / "mini/skills/calc.py").write_text(
        "def add(a, b):\n    while True:\n        pass\n"
    )
    settings = project.settings()
    settings = settings.model_copy(
        update={"replay": settings.replay.model_copy(update={"case_timeout": 1.0})}
    )
    module = write_replay_module(
        [mini.case("loops", 1, 2), mini.case("next", 0, 0)], project.root, settings, "s"
    )
    run = run_replay(module, project.root, settings, exitfirst=False)
    outcomes = {task: run.checks[node].outcome for node, task in module.node_to_task.items()}
    assert outcomes == {"loops": "failed", "next": "failed"}
    assert "ReplayTimeout" in run.checks[module.task_to_node["loops"]].message
    assert not run.timed_out  # the case timed out, not the whole run


@pytest.mark.e2e
def test_exitfirst_stops_at_the_first_failing_case(tmp_path: Path) -> None:
    project = mini.make_project(tmp_path / "p")
    settings = project.settings()
    module = write_replay_module(
        [mini.case("a", 1, 2), mini.case("b", 3, 4)], project.root, settings, "s"
    )
    run = run_replay(module, project.root, settings, exitfirst=True)
    assert run.outcomes() == {module.task_to_node["a"]: "failed"}
