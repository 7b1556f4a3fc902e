"""The audit log: an append-only JSONL hash chain of everything Theseus decided and did.

Each line is one record ``{seq, time, actor, kind, payload, mode, prev, hash}`` written as
canonical JSON. ``hash`` is SHA-256 over the canonical JSON of the record without ``hash``
(``mode: "sha256"``), or HMAC-SHA256 with a key from ``THESEUS_AUDIT_KEY``
(``mode: "hmac-sha256"``), and ``prev`` is the hash of the record before. Changing any byte,
deleting, reordering or inserting a record breaks the chain at that record; with a key, the
chain cannot be re-forged after an edit by anyone who lacks the key.

A tail deletion leaves a shorter but self-consistent chain, so every append also writes a
small head file (``audit.jsonl.head``: last seq and hash); verify checks the chain reaches it.

Appends are safe across processes: an exclusive ``flock`` covers "read the tail, write the
next record, fsync", so two writers can never both link to the same previous record.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from theseus._atomic import write_text_atomic
from theseus._jsonvalue import dumps, to_json_safe
from theseus.errors import AuditError

AUDIT_FILE = "audit.jsonl"
KEY_ENV = "THESEUS_AUDIT_KEY"
GENESIS = "0" * 64
KINDS = frozenset(
    {
        "proposal",
        "proposal_rejected",
        "policy",
        "verification",
        "gate",
        "deploy",
        "health",
        "rollback",
        "pause",
        "resume",
        "manual",
        "cycle",
        "guard",
    }
)
_FIELDS = frozenset({"seq", "time", "actor", "kind", "payload", "mode", "prev", "hash"})
_MODES = ("sha256", "hmac-sha256")


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking the whole chain: ``first_bad_seq`` names the first broken record."""

    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str | None = None
    keyed: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "keyed_records": self.keyed,
            "warnings": list(self.warnings),
        }


def _key_from_env() -> bytes | None:
    value = os.environ.get(KEY_ENV)
    return value.encode() if value else None


def record_hash(record: dict[str, Any], key: bytes | None) -> str:
    """The hash of a record (every field but ``hash``) in its recorded mode."""
    body = dumps({k: v for k, v in record.items() if k != "hash"}).encode()
    if record.get("mode") == "hmac-sha256":
        if key is None:
            raise AuditError(f"record {record.get('seq')} is HMAC-keyed but {KEY_ENV} is not set")
        return hmac.new(key, body, hashlib.sha256).hexdigest()
    return hashlib.sha256(body).hexdigest()


class AuditLog:
    """The chain in one file (``.theseus/audit.jsonl`` by default)."""

    def __init__(self, path: Path | str, key: bytes | None = None) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._explicit_key = key

    @property
    def key(self) -> bytes | None:
        """The HMAC key: the one given, else ``THESEUS_AUDIT_KEY`` (read at each use)."""
        return self._explicit_key if self._explicit_key is not None else _key_from_env()

    def append(self, kind: str, payload: dict[str, Any], actor: str = "theseus") -> dict[str, Any]:
        """Add one record at the end of the chain and return it (with its hash)."""
        if kind not in KINDS:
            raise AuditError(f"unknown audit kind {kind!r}", hint=f"use one of {sorted(KINDS)}")
        key = self.key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_line(fd)
            if last is None:
                seq, prev = 1, GENESIS
            else:
                try:
                    previous = json.loads(last)
                    seq, prev = int(previous["seq"]) + 1, str(previous["hash"])
                except (ValueError, KeyError, TypeError):
                    raise AuditError(
                        f"{self.path}: the last record is damaged; not appending after it",
                        hint="run `theseus audit verify` to see where the chain breaks",
                    ) from None
            record: dict[str, Any] = {
                "seq": seq,
                "time": datetime.now(UTC).isoformat(timespec="microseconds"),
                "actor": actor,
                "kind": kind,
                "payload": to_json_safe(payload),
                "mode": "hmac-sha256" if key is not None else "sha256",
                "prev": prev,
            }
            record["hash"] = record_hash(record, key)
            os.write(fd, (dumps(record) + "\n").encode())
            os.fsync(fd)
            _write_head(self.head_path, seq, record["hash"])
        finally:
            os.close(fd)
        return record

    def records(self) -> list[dict[str, Any]]:
        """Every record that parses, in file order (use :meth:`verify` to trust them)."""
        return [r for _, r in self._lines() if r is not None]

    def _lines(self) -> Iterator[tuple[bytes, dict[str, Any] | None]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise AuditError(f"cannot read {self.path}: {exc.strerror}") from None
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                parsed = json.loads(line.decode())
            except (UnicodeDecodeError, ValueError):
                yield line, None
                continue
            yield line, parsed if isinstance(parsed, dict) else None

    def verify(self, *, require_key: bool = False) -> VerifyResult:
        """Check the whole chain; the first problem found names its record.

        ``require_key`` refuses unkeyed records altogether (use it once a key is in force,
        so nobody can replace the log with a freshly computed unkeyed chain).
        """
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return VerifyResult(True, 0, warnings=[f"{self.path} does not exist yet"])
        except OSError as exc:
            raise AuditError(f"cannot read {self.path}: {exc.strerror}") from None
        key = self.key
        lines = data.split(b"\n")
        terminated = lines[-1] == b""
        if terminated:
            lines.pop()
        prev, keyed = GENESIS, 0
        warnings: list[str] = []
        for index, line in enumerate(lines):
            seq = index + 1
            problem = _check_line(line, seq, prev, key, keyed > 0, require_key)
            if problem is None and index == len(lines) - 1 and not terminated:
                problem = "is not terminated by a newline (a truncated write?)"
            if problem is not None:
                return VerifyResult(False, index, seq, f"record {seq} {problem}", keyed, warnings)
            record = json.loads(line.decode())
            prev = record["hash"]
            keyed += record["mode"] == "hmac-sha256"
        count = len(lines)
        head = _read_head(self.head_path)
        if head == (-1, ""):
            return VerifyResult(
                False, count, count, f"the head file {self.head_path.name} is damaged", keyed
            )
        if head is None:
            if count:
                warnings.append(f"{self.head_path.name} is missing: a deleted tail would go unseen")
        elif head[0] > count:
            return VerifyResult(
                False,
                count,
                count + 1,
                f"record {count + 1} is missing: the log ends at record {count} but its head "
                f"file says {head[0]} (records were deleted from the end)",
                keyed,
                warnings,
            )
        elif head[1] != _hash_at(lines, head[0]):
            return VerifyResult(
                False, count, head[0], f"record {head[0]} does not match the head file", keyed
            )
        if count and key is None and any(b'"mode":"hmac-sha256"' in ln for ln in lines):
            warnings.append(f"{KEY_ENV} is not set")
        return VerifyResult(True, count, None, None, keyed, warnings)


def _check_line(
    line: bytes, seq: int, prev: str, key: bytes | None, keyed_before: bool, require_key: bool
) -> str | None:
    """Why this line is not record ``seq`` of a sound chain, or None when it is."""
    try:
        record = json.loads(line.decode())
    except (UnicodeDecodeError, ValueError):
        return "is not valid JSON (edited or truncated)"
    if not isinstance(record, dict) or set(record) != _FIELDS:
        return "does not have exactly the audit record fields"
    if dumps(record).encode() != line:
        return "is not in canonical form (it was edited)"
    if record["seq"] != seq:
        found = record["seq"]
        if isinstance(found, int) and found > seq:
            return f"is missing (found record {found} in its place: records were deleted)"
        return f"is out of place (found seq {found!r}: records were moved or edited)"
    if record["prev"] != prev:
        return "does not link to the record before it (records were removed, moved or edited)"
    if record["mode"] not in _MODES:
        return f"has an unknown mode {record['mode']!r}"
    if record["mode"] == "sha256" and (keyed_before or require_key):
        why = "after keyed records" if keyed_before else "while a key is required"
        return f"is unkeyed {why} (the chain was re-forged without the key)"
    if record["mode"] == "hmac-sha256" and key is None:
        return f"is HMAC-keyed and cannot be checked: set {KEY_ENV} to the audit key"
    expected = record_hash(record, key)
    if not hmac.compare_digest(str(record["hash"]), expected):
        return "has a wrong hash (its content was changed)"
    return None


def _hash_at(lines: list[bytes], seq: int) -> str | None:
    if not 1 <= seq <= len(lines):
        return None
    value = json.loads(lines[seq - 1].decode())["hash"]
    return str(value)


def _last_line(fd: int) -> bytes | None:
    """The last complete line of the file, reading backwards in blocks (the log grows)."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return None
    os.lseek(fd, size - 1, os.SEEK_SET)
    if os.read(fd, 1) != b"\n":
        raise AuditError(
            "the audit log ends with a partial record (an interrupted write or an edit)",
            hint="run `theseus audit verify`; restore the file from a backup before appending",
        )
    end, buffer, block = size - 1, b"", 4096
    while end > 0:
        start = max(0, end - block)
        os.lseek(fd, start, os.SEEK_SET)
        buffer = os.read(fd, end - start) + buffer
        end = start
        if b"\n" in buffer:
            return buffer.rsplit(b"\n", 1)[1]
    return buffer


def _write_head(path: Path, seq: int, digest: str) -> None:
    write_text_atomic(path, json.dumps({"seq": seq, "hash": digest}) + "\n")


def _read_head(path: Path) -> tuple[int, str] | None:
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
        return int(head["seq"]), str(head["hash"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return (-1, "")  # damaged: verify reports it
