"""Attacks on the audit log by someone who can write `.theseus/` but does not hold the key.

Each test plays one attack from docs/AUDIT.md and asserts it is caught. Each one passed
unnoticed before head files were keyed, keyed logs refused unkeyed records by default and
promotion commits carried the audit head: the forged files below are exactly what those
checks accepted.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from theseus._jsonvalue import dumps
from theseus.change.candidate import Candidate
from theseus.cli.main import main
from theseus.errors import AuditError
from theseus.lineage import git
from theseus.lineage.audit import GENESIS, AuditLog
from theseus.lineage.state import open_audit

KEY = b"the audit key"
SOURCE = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n"


@pytest.fixture(autouse=True)
def _clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No audit key and no user git config unless a test sets them."""
    monkeypatch.delenv("THESEUS_AUDIT_KEY", raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig-empty"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def keyed_log(path: Path, n: int = 8) -> AuditLog:
    log = AuditLog(path, key=KEY)
    for i in range(n):
        log.append("gate" if i % 2 else "proposal", {"candidate": f"c{i}", "n": i})
    return log


def lines_of(log: AuditLog) -> list[bytes]:
    return log.path.read_bytes().splitlines(keepends=True)


def forge_head(log: AuditLog, record: dict[str, object], **extra: object) -> None:
    """The head file an attacker writes: it names the new last record, as an unkeyed one."""
    head = {"seq": record["seq"], "hash": record["hash"], **extra}
    log.head_path.write_text(json.dumps(head) + "\n")


def rehash_unkeyed(records: list[dict[str, object]], start: int = 1) -> list[dict[str, object]]:
    """Recompute the chain from record ``start`` on with plain SHA-256 (needs no key)."""
    prev = GENESIS if start == 1 else str(records[start - 2]["hash"])
    for record in records[start - 1 :]:
        record["prev"], record["mode"] = prev, "sha256"
        body = dumps({k: v for k, v in record.items() if k != "hash"}).encode()
        record["hash"] = prev = hashlib.sha256(body).hexdigest()
    return records


def write_records(log: AuditLog, records: list[dict[str, object]]) -> None:
    log.path.write_bytes(b"".join(dumps(r).encode() + b"\n" for r in records))


def test_tail_deleted_and_head_rewritten_without_the_key(tmp_path: Path) -> None:
    log = keyed_log(tmp_path / "audit.jsonl")
    old_head = json.loads(log.head_path.read_text())
    log.path.write_bytes(b"".join(lines_of(log)[:5]))
    fifth = json.loads(lines_of(log)[-1])
    forge_head(log, fifth)  # consistent with the shorter log, but unkeyed
    result = log.verify()
    assert not result.ok and "is not keyed" in (result.reason or ""), result
    # keeping the old MAC does not help: it covers seq and hash
    forge_head(log, fifth, mode="hmac-sha256", mac=old_head["mac"])
    result = log.verify()
    assert not result.ok and "wrong MAC" in (result.reason or ""), result


def test_tail_deleted_and_head_file_removed(tmp_path: Path) -> None:
    log = keyed_log(tmp_path / "audit.jsonl")
    log.path.write_bytes(b"".join(lines_of(log)[:5]))
    log.head_path.unlink()
    result = log.verify()
    assert not result.ok and result.records == 5
    assert "head file audit.jsonl.head is missing" in (result.reason or "")


def test_chain_rebuilt_without_the_key_fails_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.jsonl"
    keyed_log(path)
    # the attacker replaces the log and its head with a fresh, self-consistent history
    path.unlink()
    path.with_name("audit.jsonl.head").unlink()
    forged = AuditLog(path)
    for i in range(3):
        forged.append("manual", {"note": f"nothing happened {i}"})
    assert forged.verify().ok  # without the key nobody can tell: docs/AUDIT.md says so
    monkeypatch.setenv("THESEUS_AUDIT_KEY", KEY.decode())
    result = AuditLog(path).verify()  # the default: no require_key flag
    assert not result.ok and result.first_bad_seq == 1
    assert "unkeyed but THESEUS_AUDIT_KEY is set" in (result.reason or "")


def test_unkeyed_append_to_a_keyed_log_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THESEUS_AUDIT_KEY", KEY.decode())
    log = keyed_log(tmp_path / "audit.jsonl", 3)
    before = (log.path.read_bytes(), log.head_path.read_bytes())
    monkeypatch.delenv("THESEUS_AUDIT_KEY")
    with pytest.raises(AuditError, match="set THESEUS_AUDIT_KEY") as caught:
        AuditLog(log.path).append("manual", {"note": "slipped in"})
    assert "\n" not in str(caught.value)
    assert (log.path.read_bytes(), log.head_path.read_bytes()) == before


def test_payload_rewritten_and_rehashed_unkeyed(tmp_path: Path) -> None:
    log = keyed_log(tmp_path / "audit.jsonl")
    records = [json.loads(line) for line in lines_of(log)]
    records[2]["payload"]["n"] = 999
    write_records(log, rehash_unkeyed(records))  # the whole chain, from genesis
    forge_head(log, records[-1])
    result = log.verify()
    assert not result.ok and result.first_bad_seq == 1, result
    # rehashing only from the edited record on is caught at the edited record
    records = [json.loads(line) for line in lines_of(keyed_log(tmp_path / "b" / "audit.jsonl"))]
    records[2]["payload"]["n"] = 999
    other = AuditLog(tmp_path / "b" / "audit.jsonl", key=KEY)
    write_records(other, rehash_unkeyed(records, start=3))
    forge_head(other, records[-1])
    result = other.verify()
    assert not result.ok and result.first_bad_seq == 3, result


# -- against the promotion commits -----------------------------------------------------------


def run_git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    return done.stdout.decode()


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "agent").mkdir(parents=True)
    (root / "agent" / "calc.py").write_text(SOURCE)
    (root / "theseus.toml").write_text(
        '[agent]\npackage = "agent"\nentrypoint = "agent.calc:add"\n'
        '[paths]\nmutable = ["agent/*.py"]\n'
    )
    (root / ".gitignore").write_text(".theseus/\n")
    run_git(root, "init", "-q", "-b", "main")
    run_git(root, "add", "-A")
    run_git(root, "-c", "user.name=Dev", "-c", "user.email=dev@x", "commit", "-qm", "initial")
    return root


def fix(root: Path, old: str, new: str, signature: str) -> Candidate:
    before = (root / "agent" / "calc.py").read_text()
    after = before.replace(old, new)
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            "a/agent/calc.py",
            "b/agent/calc.py",
        )
    )
    return Candidate.create(
        base_commit=git.head(root), diff=diff, proposer="repair", signature=signature
    )


def promote_like_the_cycle(root: Path, log: AuditLog, candidate: Candidate) -> str:
    """What ``Cycle`` writes around one promotion: its records, then the commit."""
    log.append("proposal", {"candidate": candidate.id})
    log.append("gate", {"candidate": candidate.id, "approved": True})
    commit = git.promote(root, candidate, audit_head=log.head())
    log.append("deploy", {"candidate": candidate.id, "commit": commit})
    return commit


@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
def test_truncation_after_two_promotions_is_caught_against_git(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keyed: bool,
) -> None:
    if keyed:
        monkeypatch.setenv("THESEUS_AUDIT_KEY", KEY.decode())
    root = project(tmp_path)
    log = open_audit(root)
    first = promote_like_the_cycle(root, log, fix(root, "a - b", "a + b", "TypeError:add"))
    kept = len(lines_of(log))
    saved_head = log.head_path.read_bytes()  # an attacker may have kept a copy of it
    second = promote_like_the_cycle(root, log, fix(root, "a + b\n", "a * b\n", "TypeError:mul"))
    log.append("health", {"ok": True})
    assert log.verify(repo=root).ok

    # cut the log back to where it stood before the second promotion
    log.path.write_bytes(b"".join(lines_of(log)[:kept]))
    if keyed:
        log.head_path.write_bytes(saved_head)  # a genuine keyed head, just an old one
    else:
        forge_head(log, json.loads(lines_of(log)[-1]))
    assert log.verify().ok  # the log alone looks sound: only git remembers

    result = log.verify(repo=root)
    assert not result.ok and result.bad_commit == second != first
    assert result.first_bad_seq == kept + 2  # the gate record the second commit named
    assert f"commit {second[:12]}" in (result.reason or "")
    code = main(["audit", "verify", "-p", str(root)])
    out = capsys.readouterr().out
    assert code == 1 and "audit chain broken" in out and second[:12] in out
