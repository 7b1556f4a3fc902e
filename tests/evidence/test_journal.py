"""The SDK's journal: durable through a crash, taken into the store once, never twice.

Each test attacks one claim of :mod:`theseus.evidence.journal`: a record survives SIGKILL
of its process right after the call returns; two readers never duplicate a line; a torn
last line waits while its writer lives and is dropped once it is gone; garbage in a journal
is skipped without breaking the store; finished files are deleted, a live writer's kept;
a forked child writes its own file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from theseus.evidence import journal
from theseus.evidence.journal import Journal, has_evidence, journal_dir
from theseus.evidence.records import TaskRecord
from theseus.evidence.store import EvidenceStore


def _record(n: int) -> str:
    return TaskRecord(
        id=f"{n:032x}", function="m:f", input={"args": [n], "kwargs": {}}, started_at=float(n)
    ).model_dump_json()


def test_a_returned_call_survives_sigkill_of_its_process(tmp_path: Path) -> None:
    store = tmp_path / "evidence.db"
    script = textwrap.dedent(
        f"""
        import os, signal
        import theseus
        from theseus.evidence import sdk
        sdk.configure(store={str(store)!r})

        @theseus.task
        def handle(message, state):
            return message * 2

        for n in range(25):
            handle(n, {{}})
        os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no flush, no close
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert done.returncode == -signal.SIGKILL
    assert not store.exists() and has_evidence(store)  # only the journal so far
    with EvidenceStore(store) as opened:
        assert sorted(t.output for t in opened.tasks()) == [n * 2 for n in range(25)]
    assert list(journal_dir(store).iterdir()) == []  # its writer is gone: file deleted


def test_two_readers_take_each_line_once_and_a_live_writer_keeps_its_file(
    tmp_path: Path,
) -> None:
    store = tmp_path / "evidence.db"
    writer = Journal()
    for n in range(10):
        writer.append(store, "task", _record(n))
    first, second = EvidenceStore(store), EvidenceStore(store)
    try:
        assert first.counts()["tasks"] == 10 and second.counts()["tasks"] == 10
        for n in range(10, 15):
            writer.append(store, "task", _record(n))
        assert second.take_in_journals() == 5 and first.take_in_journals() == 0
        assert first.counts()["tasks"] == 15
        assert len(list(journal_dir(store).iterdir())) == 1  # ours, still being written
        writer.seal_all()
        assert first.take_in_journals() == 0
        assert list(journal_dir(store).iterdir()) == []  # sealed and taken in: deleted
    finally:
        first.close()
        second.close()


def test_a_torn_line_waits_for_a_live_writer_and_is_dropped_once_it_is_gone(
    tmp_path: Path,
) -> None:
    store = tmp_path / "evidence.db"
    folder = journal_dir(store)
    folder.mkdir()

    def line(n: int) -> str:
        return json.dumps({"kind": "task", "record": json.loads(_record(n))}) + "\n"

    third = line(3)
    start = journal._start_time(os.getpid())
    live = folder / f"{os.getpid()}-{start}-0.jsonl"
    live.write_text(line(1) + third[:40])  # its writer is still inside the write of line 3
    dead = folder / "999999999-1-0.jsonl"  # no such process: it died mid-line
    dead.write_text(line(2) + line(4)[:40])
    with EvidenceStore(store) as opened:
        assert sorted(t.id for t in opened.tasks()) == [f"{1:032x}", f"{2:032x}"]
    assert live.exists() and not dead.exists()
    with live.open("a") as rest:  # the live writer finishes its line
        rest.write(third[40:])
    with EvidenceStore(store) as opened:
        assert opened.counts()["tasks"] == 3 and opened.get_task(f"{3:032x}") is not None


def test_garbage_in_a_journal_is_skipped_and_the_store_still_opens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = tmp_path / "evidence.db"
    folder = journal_dir(store)
    folder.mkdir()
    good = json.dumps({"kind": "task", "record": json.loads(_record(7))})
    lines = [
        "not json at all",
        json.dumps({"kind": "task", "record": {"id": "x"}}),  # not a valid record
        json.dumps({"kind": "forgery", "record": {}}),
        json.dumps([1, 2, 3]),
        good,
    ]
    (folder / "999999998-1-0.jsonl").write_text("\n".join(lines) + "\n")
    with caplog.at_level("WARNING", logger="theseus.evidence"), EvidenceStore(store) as opened:
        assert [t.id for t in opened.tasks()] == [f"{7:032x}"]
    assert "skipped 4 unreadable line(s)" in caplog.text


def test_a_full_file_is_sealed_and_a_new_one_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "ROTATE_BYTES", 2000)
    store = tmp_path / "evidence.db"
    writer = Journal()
    for n in range(30):
        writer.append(store, "task", _record(n))
    names = sorted(p.name for p in journal_dir(store).iterdir())
    assert any(name.endswith(".sealed") for name in names) and len(names) > 2
    with EvidenceStore(store) as opened:
        assert opened.counts()["tasks"] == 30
    left = list(journal_dir(store).iterdir())
    assert len(left) <= 1 and not any(p.name.endswith(".sealed") for p in left)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_writes_its_own_file(tmp_path: Path) -> None:
    store = tmp_path / "evidence.db"
    writer = Journal()
    writer.append(store, "task", _record(1))
    pid = os.fork()
    if pid == 0:
        try:
            writer.append(store, "task", _record(2))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    writer.append(store, "task", _record(3))
    files = list(journal_dir(store).iterdir())
    assert len(files) == 2
    with EvidenceStore(store) as opened:
        assert opened.counts()["tasks"] == 3
