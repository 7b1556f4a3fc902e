"""@task and report_failure against a real project folder and a real SQLite store."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import subprocess
import threading
from pathlib import Path

import pytest

import theseus
from theseus._jsonvalue import UNSERIALIZABLE
from theseus.errors import EvidenceError
from theseus.evidence import sdk
from theseus.evidence.records import TaskRecord
from theseus.evidence.store import EvidenceStore

from .conftest import load_module

AGENT = """\
import theseus

@theseus.task
def handle(message, state):
    state["seen"] = state.get("seen", 0) + 1
    if message.get("boom"):
        return helper(message["boom"])
    return {"reply": message.get("text", "").upper(), "task": theseus.current_task_id()}

def helper(value):
    return {"a": 1}[value]

@theseus.task(idempotent=True, name="custom:name")
def lookup(order_id, session_id=None):
    return order_id * 2

@theseus.task
async def ahandle(message):
    if message == "bad":
        raise ValueError("bad message 42")
    return message + "!"
"""


def _tasks(root: Path) -> list[TaskRecord]:
    with EvidenceStore(root / ".theseus" / "evidence.db") as store:
        return store.tasks()


def test_records_input_before_mutation_output_and_metadata(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    state: dict[str, int] = {}
    with sdk.session("s-1"):
        reply = mod.handle({"text": "hi"}, state)
    assert state == {"seen": 1}
    [rec] = _tasks(project)
    assert rec.input == {"args": [{"text": "hi"}, {}], "kwargs": {}}  # state as it was before
    assert rec.output == reply and reply["task"] == rec.id
    assert rec.session_id == "s-1"
    assert rec.function.endswith(":handle") and not rec.idempotent
    assert rec.error is None and rec.duration_ms >= 0 and rec.code_version is None


def test_exception_is_reraised_unchanged_with_frames(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    with pytest.raises(KeyError) as caught:
        mod.handle({"boom": "zz"}, {})
    assert caught.value.args == ("zz",)
    [rec] = _tasks(project)
    assert rec.error is not None and rec.error.type == "KeyError"
    assert rec.error.message == "'zz'"
    assert [(f.file, f.function) for f in rec.error.frames] == [
        ("agentpkg/core.py", "handle"),
        ("agentpkg/core.py", "helper"),
    ]
    assert rec.error.frames[1].code == 'return {"a": 1}[value]'
    assert "sdk.py" not in rec.error.traceback and "KeyError: 'zz'" in rec.error.traceback


def test_session_id_kwarg_name_and_idempotent(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    assert mod.lookup(21, session_id="own") == 42
    assert mod.lookup(1, "positional") == 2
    with sdk.session("ctx"):
        mod.lookup(2)
    recs = _tasks(project)
    assert [r.session_id for r in recs] == ["own", "positional", "ctx"]
    assert all(r.function == "custom:name" and r.idempotent for r in recs)


def test_async_task(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    assert asyncio.run(mod.ahandle("ok")) == "ok!"
    with pytest.raises(ValueError, match="bad message 42"):
        asyncio.run(mod.ahandle("bad"))
    ok, bad = _tasks(project)
    assert ok.output == "ok!" and ok.error is None
    assert bad.error is not None and bad.error.type == "ValueError"
    assert bad.error.frames[-1].function == "ahandle"


def test_unserialisable_input_gets_marker_and_call_succeeds(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)

    class Odd:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert mod.handle({"text": "x", "obj": Odd()}, {})["reply"] == "X"
    [rec] = _tasks(project)
    marker = rec.input["args"][0]["obj"]
    assert (
        marker[UNSERIALIZABLE]
        == "test_unserialisable_input_gets_marker_and_call_succeeds.<locals>.Odd"
    )
    assert marker["repr"] == "<repr failed>"


def test_store_failure_is_one_warning_and_the_call_proceeds(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    blocker = project / "not_a_dir"
    blocker.write_text("a file where the store's folder should be")
    sdk.configure(store=blocker / "evidence.db")
    with caplog.at_level(logging.DEBUG, logger="theseus.evidence"):
        assert mod.handle({"text": "a"}, {})["reply"] == "A"
        with pytest.raises(KeyError):
            mod.handle({"boom": "q"}, {})
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "evidence not recorded" in warnings[0].getMessage()


def test_record_off_by_env_and_configure(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    monkeypatch.setenv("THESEUS_RECORD", "0")
    reply = mod.handle({"text": "a"}, {})
    assert reply["task"] is not None  # current_task_id still answers
    assert theseus.report_failure(reply["task"]) != ""
    monkeypatch.delenv("THESEUS_RECORD")
    sdk.configure(enabled=False)
    mod.handle({"text": "a"}, {})
    assert not (project / ".theseus" / "evidence.db").exists()
    sdk.configure()
    mod.handle({"text": "a"}, {})
    assert len(_tasks(project)) == 1


def test_store_path_precedence(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "theseus.toml").write_text(
        (project / "theseus.toml").read_text() + '\n[evidence]\nstore = "data/ev.db"\n'
    )
    mod = load_module(project, "agentpkg/core.py", AGENT)
    mod.handle({}, {})
    monkeypatch.setenv("THESEUS_EVIDENCE_DB", str(tmp_path / "env.db"))
    mod.handle({}, {})
    sdk.configure(store=tmp_path / "conf.db")
    mod.handle({}, {})
    for path in (project / "data" / "ev.db", tmp_path / "env.db", tmp_path / "conf.db"):
        with EvidenceStore(path) as store:
            assert store.counts()["tasks"] == 1, path


def test_code_version_from_env_and_git(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=project, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    mod.handle({}, {})
    monkeypatch.setenv("THESEUS_CODE_VERSION", "v-env")
    mod.handle({}, {})
    assert [r.code_version for r in _tasks(project)] == [head, "v-env"]


def test_report_failure_expected_none_vs_omitted(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    task_id = mod.handle({"text": "x"}, {})["task"]
    r1 = theseus.report_failure(task_id, expected=None, note="should be empty", severity="high")
    r2 = theseus.report_failure(task_id, kind="complaint")
    with EvidenceStore(project / ".theseus" / "evidence.db") as store:
        reports = {r.id: r for r in store.reports(task_id)}
    assert reports[r1].has_expected and reports[r1].expected is None
    assert reports[r1].severity == "high" and reports[r1].note == "should be empty"
    assert not reports[r2].has_expected and reports[r2].kind == "complaint"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"severity": "urgent"}, "severity 'urgent'"), ({"kind": " "}, "kind must be")],
)
def test_report_failure_bad_arguments(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(EvidenceError, match=message):
        theseus.report_failure("abc", **kwargs)  # type: ignore[arg-type]


def test_current_task_id_outside_a_task_is_none() -> None:
    assert theseus.current_task_id() is None


def test_threads_and_forked_processes_record(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    mod.handle({}, {})  # open the store in the parent before forking

    def work() -> None:
        for i in range(20):
            mod.lookup(i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=work) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    mod.handle({}, {})  # the parent's connection still works after the children used theirs
    with EvidenceStore(project / ".theseus" / "evidence.db") as store:
        assert store.counts()["tasks"] == 2 + 4 * 20 + 2 * 20
        assert store.integrity_check() == "ok"


def test_a_report_from_another_folder_starts_no_store_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No task of this process, no theseus.toml above the folder: nothing is written there,
    and one warning says why and what to do instead."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with caplog.at_level(logging.WARNING, logger="theseus.evidence"):
        report_id = theseus.report_failure("0123456789abcdef", expected={"text": "x"})
    assert report_id
    assert not (elsewhere / ".theseus").exists()
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "was not recorded" in warning.getMessage()
