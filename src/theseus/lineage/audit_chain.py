"""The audit record format and the check of a chain of records, line by line.

A record is one line of canonical JSON ``{seq, time, actor, kind, payload, mode, prev, hash}``;
``hash`` covers every other field (SHA-256, or HMAC-SHA256 with the audit key) and ``prev``
is the hash of the record before (:data:`GENESIS` for the first), so an edit, deletion,
swap or insertion anywhere breaks the chain at that record. What vouches for where the chain
must *end* is :mod:`.audit_head`; the log object that writes records is :mod:`.audit`.
It also reads the first and last line of the log file, which appends need under their lock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from theseus._jsonvalue import dumps
from theseus.errors import AuditError
from theseus.lineage.audit_head import KEY_ENV

GENESIS = "0" * 64
_KEYED_MARK = b'"mode":"hmac-sha256"'
_FIELDS = frozenset({"seq", "time", "actor", "kind", "payload", "mode", "prev", "hash"})
_MODES = ("sha256", "hmac-sha256")


def record_hash(record: dict[str, Any], key: bytes | None) -> str:
    """The hash of a record (every field but ``hash``) in its recorded mode."""
    body = dumps({k: v for k, v in record.items() if k != "hash"}).encode()
    if record.get("mode") == "hmac-sha256":
        if key is None:
            raise AuditError(f"record {record.get('seq')} is HMAC-keyed but {KEY_ENV} is not set")
        return hmac.new(key, body, hashlib.sha256).hexdigest()
    return hashlib.sha256(body).hexdigest()


def is_keyed(line: bytes | None) -> bool:
    """Whether this line is an HMAC-keyed record (its own mode, not a payload's ``mode``)."""
    if line is None or _KEYED_MARK not in line:
        return False
    try:
        record = json.loads(line.decode())
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and record.get("mode") == "hmac-sha256"


def split_lines(data: bytes | None) -> tuple[list[bytes], bool]:
    """The log's lines, and whether the last one ended with a newline."""
    lines = [] if data is None else data.split(b"\n")
    terminated = not lines or lines[-1] == b""
    if lines and terminated:
        lines.pop()
    return lines, terminated


def check_chain(
    lines: list[bytes], terminated: bool, key: bytes | None, required: str | None
) -> tuple[list[str], int, tuple[int, str] | None]:
    """The hashes of the sound records, how many are keyed, and the first broken one (seq,
    reason); ``required`` says why unkeyed records are refused (None: they are allowed
    before the first keyed one)."""
    hashes: list[str] = []
    keyed = 0
    for index, line in enumerate(lines):
        seq = index + 1
        prev = hashes[-1] if hashes else GENESIS
        problem = _check_line(line, seq, prev, key, keyed > 0, required)
        if problem is None and index == len(lines) - 1 and not terminated:
            problem = "is not terminated by a newline (a truncated write?)"
        if problem is not None:
            return hashes, keyed, (seq, f"record {seq} {problem}")
        record = json.loads(line.decode())
        hashes.append(str(record["hash"]))
        keyed += record["mode"] == "hmac-sha256"
    return hashes, keyed, None


def _check_line(
    line: bytes, seq: int, prev: str, key: bytes | None, keyed_before: bool, required: str | None
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
    if record["mode"] == "sha256" and keyed_before:
        return "is unkeyed after keyed records (the chain was re-forged without the key)"
    if record["mode"] == "sha256" and required is not None:
        return f"is unkeyed but {required} (rebuilt without the key, or begun before it)"
    if record["mode"] == "hmac-sha256" and key is None:
        return f"is HMAC-keyed and cannot be checked: set {KEY_ENV} to the audit key"
    expected = record_hash(record, key)
    if not hmac.compare_digest(str(record["hash"]), expected):
        return "has a wrong hash (its content was changed)"
    return None


def first_line(fd: int) -> bytes | None:
    """The first line of the file (possibly without its newline), None when it is empty."""
    os.lseek(fd, 0, os.SEEK_SET)
    buffer = b""
    while b"\n" not in buffer:
        block = os.read(fd, 4096)
        if not block:
            break
        buffer += block
    return buffer.split(b"\n", 1)[0] if buffer else None


def last_line(fd: int) -> bytes | None:
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
