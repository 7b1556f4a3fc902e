"""The audit hash chain: any edit, deletion, swap or truncation is caught and named."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theseus._jsonvalue import dumps
from theseus.errors import GitError
from theseus.lineage.audit import GENESIS, AuditError, AuditLog, record_hash

KINDS = ["proposal", "policy", "verification", "gate", "deploy", "health", "rollback", "manual"]


def build_log(path: Path, n: int = 8, key: bytes | None = None) -> AuditLog:
    log = AuditLog(path, key=key)
    for i in range(n):
        log.append(
            KINDS[i % len(KINDS)],
            {"candidate_id": f"c{i:03d}", "note": "ünïcode ✓" * (i % 3), "n": i, "x": 1.5},
            actor="tester",
        )
    return log


def line_spans(data: bytes) -> list[tuple[int, int]]:
    spans, start = [], 0
    for i, byte in enumerate(data):
        if byte == ord("\n"):
            spans.append((start, i))
            start = i + 1
    return spans


@pytest.fixture(scope="module")
def pristine() -> tuple[bytes, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        log = build_log(Path(tmp) / "audit.jsonl")
        return log.path.read_bytes(), log.head_path.read_bytes()


def write_copy(folder: Path, data: bytes, head: bytes) -> AuditLog:
    log = AuditLog(folder / "audit.jsonl")
    log.path.write_bytes(data)
    log.head_path.write_bytes(head)
    return log


def test_chain_links_and_verifies(tmp_path: Path) -> None:
    log = build_log(tmp_path / "audit.jsonl", 5)
    records = log.records()
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev"] == GENESIS
    assert all(records[i]["prev"] == records[i - 1]["hash"] for i in range(1, 5))
    assert all(r["mode"] == "sha256" and r["actor"] == "tester" for r in records)
    result = log.verify()
    assert result.ok and result.records == 5 and result.first_bad_seq is None


def test_empty_or_missing_log_verifies(tmp_path: Path) -> None:
    result = AuditLog(tmp_path / "none.jsonl").verify()
    assert result.ok and result.records == 0


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_byte_edit_is_caught_and_named(
    pristine: tuple[bytes, bytes], data: st.DataObject
) -> None:
    original, head = pristine
    position = data.draw(st.integers(0, len(original) - 1), label="position")
    replacement = data.draw(
        st.integers(0, 255).filter(lambda b: b != original[position]), label="byte"
    )
    edited = bytearray(original)
    edited[position] = replacement
    expected = next(i + 1 for i, (s, e) in enumerate(line_spans(original)) if s <= position <= e)
    with tempfile.TemporaryDirectory() as tmp:
        result = write_copy(Path(tmp), bytes(edited), head).verify()
    assert not result.ok
    assert result.first_bad_seq == expected, result.reason
    assert result.reason is not None and f"record {expected}" in result.reason


@pytest.mark.parametrize("victim", range(8))
def test_deleting_any_record_is_caught_and_named(
    pristine: tuple[bytes, bytes], tmp_path: Path, victim: int
) -> None:
    original, head = pristine
    lines = original.splitlines(keepends=True)
    del lines[victim]
    result = write_copy(tmp_path, b"".join(lines), head).verify()
    assert not result.ok
    assert result.first_bad_seq == victim + 1
    assert f"record {victim + 1}" in (result.reason or "")


@given(pair=st.tuples(st.integers(0, 7), st.integers(0, 7)).filter(lambda p: p[0] != p[1]))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_swapping_two_records_is_caught_and_named(
    pristine: tuple[bytes, bytes], pair: tuple[int, int]
) -> None:
    original, head = pristine
    lines = original.splitlines(keepends=True)
    i, j = sorted(pair)
    lines[i], lines[j] = lines[j], lines[i]
    with tempfile.TemporaryDirectory() as tmp:
        result = write_copy(Path(tmp), b"".join(lines), head).verify()
    assert not result.ok and result.first_bad_seq == i + 1


def test_truncated_last_line_is_caught(pristine: tuple[bytes, bytes], tmp_path: Path) -> None:
    original, head = pristine
    result = write_copy(tmp_path, original[:-20], head).verify()
    assert not result.ok and result.first_bad_seq == 8
    assert "not valid JSON" in (result.reason or "")


def test_missing_final_newline_is_caught(pristine: tuple[bytes, bytes], tmp_path: Path) -> None:
    original, head = pristine
    result = write_copy(tmp_path, original[:-1], head).verify()
    assert not result.ok and result.first_bad_seq == 8 and "newline" in (result.reason or "")


def test_inserted_garbage_line_is_caught(pristine: tuple[bytes, bytes], tmp_path: Path) -> None:
    original, head = pristine
    lines = original.splitlines(keepends=True)
    lines.insert(3, b'{"not": "a record"}\n')
    result = write_copy(tmp_path, b"".join(lines), head).verify()
    assert not result.ok and result.first_bad_seq == 4 and "fields" in (result.reason or "")


def test_damaged_or_missing_head_file(pristine: tuple[bytes, bytes], tmp_path: Path) -> None:
    original, _ = pristine
    log = write_copy(tmp_path, original, b"{broken")
    assert not log.verify().ok
    log.head_path.unlink()
    result = log.verify()
    assert result.ok and any("missing" in w for w in result.warnings)


def test_hmac_chain_needs_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THESEUS_AUDIT_KEY", "s3cret")
    log = build_log(tmp_path / "audit.jsonl", 4)
    assert all(r["mode"] == "hmac-sha256" for r in log.records())
    assert log.verify(require_key=True).ok
    monkeypatch.setenv("THESEUS_AUDIT_KEY", "wrong")
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 1 and "wrong hash" in (result.reason or "")
    monkeypatch.delenv("THESEUS_AUDIT_KEY")
    result = log.verify()
    assert not result.ok and "THESEUS_AUDIT_KEY" in (result.reason or "")


def reforge_unkeyed(path: Path, edit_seq: int) -> None:
    """What an attacker without the key can do: edit a record and rehash the chain (SHA-256)."""
    import hashlib

    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    records[edit_seq - 1]["payload"]["n"] = 999
    prev = records[0]["prev"]
    for record in records:
        record["prev"], record["mode"] = prev, "sha256"
        body = {k: v for k, v in record.items() if k != "hash"}
        record["hash"] = prev = hashlib.sha256(dumps(body).encode()).hexdigest()
    path.write_bytes(b"".join(dumps(r).encode() + b"\n" for r in records))


def test_keyed_chain_cannot_be_reforged_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THESEUS_AUDIT_KEY", "s3cret")
    log = build_log(tmp_path / "audit.jsonl", 5)
    reforge_unkeyed(log.path, 3)
    result = log.verify(require_key=True)
    assert not result.ok and result.first_bad_seq == 1
    # a partial re-forge after keyed records is a downgrade, caught even without require_key
    log2 = build_log(tmp_path / "b" / "audit.jsonl", 5)
    lines = log2.path.read_bytes().splitlines(keepends=True)
    reforged = tmp_path / "tail.jsonl"
    reforged.write_bytes(b"".join(lines))
    reforge_unkeyed(reforged, 4)
    mixed = lines[:3] + reforged.read_bytes().splitlines(keepends=True)[3:]
    log2.path.write_bytes(b"".join(mixed))
    result = log2.verify()
    assert not result.ok and result.first_bad_seq == 4


def test_refuses_to_append_after_a_partial_record(tmp_path: Path) -> None:
    log = build_log(tmp_path / "audit.jsonl", 2)
    with log.path.open("ab") as handle:
        handle.write(b'{"seq": 3, "trunc')
    with pytest.raises(AuditError, match="partial record"):
        log.append("cycle", {})


def test_refuses_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="unknown audit kind"):
        AuditLog(tmp_path / "a.jsonl").append("lunch", {})


def test_payload_is_made_json_safe(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    record = log.append("cycle", {"obj": object(), "nan": float("nan")})
    assert "__theseus_unserializable__" in json.dumps(record["payload"])
    assert log.verify().ok


WRITER = """
import sys
from theseus.lineage.audit import AuditLog
log = AuditLog(sys.argv[1])
for i in range(int(sys.argv[2])):
    log.append("cycle", {"writer": sys.argv[3], "i": i})
"""


def test_concurrent_appends_from_processes_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), "25", str(w)]) for w in range(4)
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    log = AuditLog(path)
    result = log.verify()
    assert result.ok, result.reason
    assert result.records == 100
    assert sorted(r["seq"] for r in log.records()) == list(range(1, 101))


# -- keyed head files, the keyed-throughout default, and what append refuses --------------------

KEY = b"s3cret"


def test_keyed_log_writes_a_keyed_head_and_reports_it(tmp_path: Path) -> None:
    log = build_log(tmp_path / "audit.jsonl", 3, key=KEY)
    head = json.loads(log.head_path.read_text())
    assert head["seq"] == 3 and head["mode"] == "hmac-sha256" and len(head["mac"]) == 64
    assert log.head() == (3, log.records()[-1]["hash"])
    result = log.verify()
    assert result.ok and result.head == "keyed" and result.keyed == 3
    assert "mac" not in json.loads(build_log(tmp_path / "u.jsonl", 1).head_path.read_text())


def test_head_of_an_empty_log_is_none(tmp_path: Path) -> None:
    assert AuditLog(tmp_path / "audit.jsonl").head() is None


def test_unkeyed_verify_says_what_it_cannot_see(tmp_path: Path) -> None:
    result = build_log(tmp_path / "audit.jsonl", 2).verify()
    assert result.ok and result.head == "unkeyed"
    assert any("not keyed" in w and "cannot tell" in w for w in result.warnings)
    assert any("promotion commits were not checked" in w for w in result.warnings)


def test_append_refuses_to_vouch_for_a_deleted_tail(tmp_path: Path) -> None:
    log = build_log(tmp_path / "audit.jsonl", 5)
    log.path.write_bytes(b"".join(log.path.read_bytes().splitlines(keepends=True)[:3]))
    with pytest.raises(AuditError, match="record 4 is missing"):
        log.append("cycle", {})
    assert log.verify().first_bad_seq == 4  # still reported, not papered over


def test_a_deleted_log_whose_head_remains_is_caught(tmp_path: Path) -> None:
    log = build_log(tmp_path / "audit.jsonl", 3)
    log.path.unlink()
    result = log.verify()
    assert not result.ok and "the log was deleted" in (result.reason or "")
    with pytest.raises(AuditError, match="the log was deleted"):
        log.append("cycle", {})


def test_head_one_record_behind_after_a_crash_is_accepted(tmp_path: Path) -> None:
    """The record is fsynced before the head is rewritten; a crash in between is benign."""
    log = build_log(tmp_path / "audit.jsonl", 3, key=KEY)
    stale = log.head_path.read_bytes()
    log.append("cycle", {"n": 4})
    log.head_path.write_bytes(stale)
    result = log.verify()
    assert result.ok and any("vouches for record 3 of 4" in w for w in result.warnings)
    log.append("cycle", {"n": 5})
    result = log.verify()
    assert result.ok and not any("vouches" in w for w in result.warnings)


def test_keyed_append_to_an_unkeyed_log_is_refused(tmp_path: Path) -> None:
    log = build_log(tmp_path / "audit.jsonl", 2)
    with pytest.raises(AuditError, match="keyed from record 1"):
        AuditLog(log.path, key=KEY).append("cycle", {})
    assert len(log.records()) == 2


def test_keyed_head_alone_makes_the_log_keyed(tmp_path: Path) -> None:
    log = build_log(tmp_path / "audit.jsonl", 2, key=KEY)
    records = log.path.read_bytes()
    forged = build_log(tmp_path / "f" / "audit.jsonl", 2)  # unkeyed records ...
    forged.head_path.write_bytes(log.head_path.read_bytes())  # ... under a keyed head
    with pytest.raises(AuditError, match="set THESEUS_AUDIT_KEY"):
        forged.append("cycle", {})
    result = forged.verify()
    assert not result.ok and "its head file is keyed" in (result.reason or "")
    assert log.path.read_bytes() == records


def test_legacy_keyed_log_fails_until_sealed(tmp_path: Path) -> None:
    """Changed default: a keyed log whose head file is unkeyed (written before head files
    were keyed) no longer verifies, and appending refuses, until `audit seal`."""
    log = build_log(tmp_path / "audit.jsonl", 3, key=KEY)
    last = log.records()[-1]
    log.head_path.write_text(json.dumps({"seq": 3, "hash": last["hash"]}) + "\n")
    assert not log.verify().ok
    with pytest.raises(AuditError, match="audit seal"):
        log.append("cycle", {})
    assert log.verify(require_key=False).ok  # the old reading, on request only
    with pytest.raises(AuditError, match="set THESEUS_AUDIT_KEY"):
        AuditLog(log.path).seal()
    assert log.seal() == (3, last["hash"])
    assert log.verify().ok and log.verify().head == "keyed"


def test_seal_refuses_a_broken_chain(tmp_path: Path) -> None:
    log = build_log(tmp_path / "audit.jsonl", 3, key=KEY)
    lines = log.path.read_bytes().splitlines(keepends=True)
    log.path.write_bytes(lines[0] + lines[2])
    with pytest.raises(AuditError, match=r"not sealing .* record 2"):
        log.seal()
    with pytest.raises(AuditError, match="does not exist"):
        AuditLog(tmp_path / "none.jsonl", key=KEY).seal()


def test_require_key_false_reads_a_log_that_began_before_its_key(tmp_path: Path) -> None:
    """The one way to accept unkeyed records while a key is set: asking for it."""
    log = build_log(tmp_path / "audit.jsonl", 2)
    keyed = build_log(tmp_path / "k" / "audit.jsonl", 2, key=KEY)
    # splice: two unkeyed records, then keyed ones linking to them (as a mid-life key switch)
    records = log.records()
    prev = records[-1]["hash"]
    for i, record in enumerate(keyed.records(), start=3):
        record.update(seq=i, prev=prev)
        record["hash"] = prev = record_hash(record, KEY)
        records.append(record)
    mixed = AuditLog(tmp_path / "m" / "audit.jsonl", key=KEY)
    mixed.path.parent.mkdir()
    mixed.path.write_bytes(b"".join(dumps(r).encode() + b"\n" for r in records))
    result = mixed.verify()
    assert not result.ok and result.first_bad_seq == 1
    assert mixed.verify(require_key=False).ok


def test_damaged_keyed_head_is_named(tmp_path: Path) -> None:
    log = build_log(tmp_path / "audit.jsonl", 2, key=KEY)
    head = json.loads(log.head_path.read_text())
    head["mac"] = "zz"
    log.head_path.write_text(json.dumps(head))
    result = log.verify()
    assert not result.ok and "malformed MAC" in (result.reason or "")


def test_verify_against_a_folder_that_is_no_repository(tmp_path: Path) -> None:
    log = build_log(tmp_path / "audit.jsonl", 1)
    with pytest.raises(GitError, match="not inside a git repository"):
        log.verify(repo=tmp_path)


def test_a_payload_mode_does_not_make_a_log_keyed(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append("cycle", {"mode": "hmac-sha256"})
    log.append("cycle", {"n": 2})
    assert log.verify().ok and log.verify().keyed == 0


def test_cli_verify_and_seal_a_legacy_keyed_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from theseus.cli.main import main as cli_main

    def main(argv: list[str]) -> int:
        try:
            return int(cli_main(argv) or 0)
        except SystemExit as exc:
            return int(exc.code or 0)

    log = build_log(tmp_path / ".theseus" / "audit.jsonl", 2, key=KEY)
    log.head_path.write_text(json.dumps({"seq": 2, "hash": log.records()[-1]["hash"]}) + "\n")
    assert main(["audit", "seal", "-p", str(tmp_path)]) == 2  # no key: one line, exit 2
    assert "set THESEUS_AUDIT_KEY" in capsys.readouterr().err
    monkeypatch.setenv("THESEUS_AUDIT_KEY", KEY.decode())
    assert main(["audit", "verify", "-p", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "audit chain broken" in out and "not keyed" in out and "not a git repository" in out
    assert main(["audit", "seal", "-p", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["seq"] == 2
    assert main(["audit", "verify", "-p", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["head"] == "keyed" and data["repository"] is None
