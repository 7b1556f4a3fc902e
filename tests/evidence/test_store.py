"""The SQLite evidence store: schema migrations, queries, several writers, crash safety."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from theseus.errors import EvidenceError
from theseus.evidence import store as store_module
from theseus.evidence.records import ErrorInfo, FailureReport, TaskRecord
from theseus.evidence.store import SCHEMA_VERSION, EvidenceStore


def rec(
    i: int, *, failed: bool = False, version: str | None = "v1", at: float = 1000.0
) -> TaskRecord:
    return TaskRecord(
        id=f"t{i:05d}",
        function="pkg.mod:handle",
        input={"args": [i], "kwargs": {}},
        output=None if failed else i,
        error=ErrorInfo(type="KeyError", message=str(i)) if failed else None,
        code_version=version,
        started_at=at + i,
    )


def report(i: int, task_id: str) -> FailureReport:
    return FailureReport(id=f"r{i}", task_id=task_id, kind="wrong_answer", created_at=2000.0 + i)


def test_new_store_is_wal_at_current_schema(tmp_path: Path) -> None:
    with EvidenceStore(tmp_path / "deep" / "ev.db") as store:
        assert store.schema_version == SCHEMA_VERSION
    db = sqlite3.connect(tmp_path / "deep" / "ev.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [
        r[0] for r in db.execute("SELECT version FROM schema_version ORDER BY version")
    ] == list(range(1, SCHEMA_VERSION + 1))


def test_old_schema_is_migrated_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ev.db"
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)
    with EvidenceStore(path) as old:
        old.add_task(rec(1))
        assert old.schema_version == 1
    monkeypatch.undo()
    with EvidenceStore(path) as new:
        assert new.schema_version == SCHEMA_VERSION
        assert new.get_task("t00001") == rec(1)
    indexes = {
        r[0]
        for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='index'")
    }
    assert "tasks_started" in indexes


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ev.db"
    EvidenceStore(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (99)")
    db.commit()
    db.close()
    with pytest.raises(EvidenceError, match="schema version 99, newer"):
        EvidenceStore(path)


def test_not_a_database_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "ev.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(EvidenceError, match="not a usable evidence store"):
        EvidenceStore(path)


def test_unwritable_location_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(EvidenceError, match="cannot open evidence store"):
        EvidenceStore(tmp_path / "file" / "ev.db")


def test_queries_and_duplicates(tmp_path: Path) -> None:
    with EvidenceStore(tmp_path / "ev.db") as store:
        assert (
            store.add_tasks(
                [rec(i, failed=i % 3 == 0, version="v2" if i > 6 else "v1") for i in range(10)]
            )
            == 10
        )
        assert store.add_tasks([rec(1), rec(2), rec(10)]) == 1
        assert [t.id for t in store.tasks(limit=3)] == ["t00008", "t00009", "t00010"]
        assert [t.id for t in store.tasks(failed_only=True)] == [
            "t00000",
            "t00003",
            "t00006",
            "t00009",
        ]
        assert [t.id for t in store.tasks(since=1008.0)] == ["t00008", "t00009", "t00010"]
        assert [t.id for t in store.tasks(code_version="v2", failed_only=True)] == ["t00009"]
        assert store.get_task("nope") is None
        assert store.get_task("t00003") == rec(3, failed=True)
        store.add_report(report(1, "t00002"))
        store.add_report(report(2, "t00005"))
        assert [r.id for r in store.reports()] == ["r1", "r2"]
        assert [r.id for r in store.reports("t00005")] == ["r2"]
        assert [t.id for t in store.tasks_by_ids(["t00005", "t00001", "missing"])] == [
            "t00001",
            "t00005",
        ]
        assert store.task_ids_with_prefix("t0000") == [f"t0000{i}" for i in range(10)]
        assert store.task_ids_with_prefix("t%") == []
        assert store.counts() == {"tasks": 11, "failed": 4, "reports": 2}


WRITER = textwrap.dedent(
    """
    import sys
    from theseus.evidence.records import TaskRecord
    from theseus.evidence.store import EvidenceStore
    path, tag, batches, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = EvidenceStore(path)
    for b in range(batches):
        recs = [
            TaskRecord(id=f"{tag}-{b}-{i}", function="m:f", input={"args": [i], "kwargs": {}},
                       output="x" * 200, started_at=float(b))
            for i in range(size)
        ]
        if size == 1:
            store.add_task(recs[0])
        else:
            store.add_tasks(recs)
        print(f"{tag}-{b}", flush=True)  # acknowledged: the write has returned
    """
)


def _writer(path: Path, tag: str, batches: int, size: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), tag, str(batches), str(size)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_several_writer_processes(tmp_path: Path) -> None:
    path = tmp_path / "ev.db"
    procs = [_writer(path, f"w{n}", 60, 1) for n in range(4)]
    for proc in procs:
        assert proc.wait(120) == 0
    with EvidenceStore(path) as store:
        assert store.counts()["tasks"] == 4 * 60
        assert store.integrity_check() == "ok"


@pytest.mark.e2e
@pytest.mark.parametrize("size", [1, 50])
def test_sigkill_mid_batch_loses_no_acknowledged_record(tmp_path: Path, size: int) -> None:
    path = tmp_path / "ev.db"
    for attempt in range(3):
        proc = _writer(path, f"k{attempt}", 100_000, size)
        assert proc.stdout is not None
        acked = [proc.stdout.readline().strip() for _ in range(5 + 7 * attempt)]
        proc.send_signal(signal.SIGKILL)  # while it writes the next batches
        proc.wait(30)
        acked += [line.strip() for line in proc.stdout.read().splitlines()]  # flushed before death
        with EvidenceStore(path) as store:
            assert store.integrity_check() == "ok"
            for batch in acked:
                for i in range(size):
                    assert store.get_task(f"{batch}-{i}") is not None, batch
            # the batch in flight is all there or not at all
            rows = (
                sqlite3.connect(path)
                .execute("SELECT id FROM tasks WHERE id LIKE ?", (f"k{attempt}-%",))
                .fetchall()
            )
            per_batch: dict[str, int] = {}
            for (task_id,) in rows:
                per_batch[task_id.rsplit("-", 1)[0]] = (
                    per_batch.get(task_id.rsplit("-", 1)[0], 0) + 1
                )
            assert set(per_batch.values()) == {size}
            assert set(acked) <= set(per_batch)
