"""The audit log: an append-only JSONL hash chain of everything Theseus decided and did.

Each line is one record (:mod:`.audit_chain`: its fields, its SHA-256 hash, or HMAC-SHA256
with the key from ``THESEUS_AUDIT_KEY``, and its link to the record before), so changing,
deleting, reordering or inserting a record breaks the chain at that record, and with a key
nobody without it can re-forge the chain after an edit. A chain cut short is still sound,
so its end is vouched for outside it (:mod:`.audit_head`): a head file rewritten with each
append (HMAC-keyed with the key), and the ``Theseus-Audit-*`` trailers of promotion commits.

A keyed log is keyed throughout: once a key is set (or any record or the head file is
keyed) verify refuses unkeyed records and a missing or unkeyed head, and append refuses to
write without the key; otherwise anyone could rebuild the chain unkeyed and have it pass.
Append also refuses to write after a tail the head file does not vouch for, since its new
head would make a deleted tail look sound. ``docs/AUDIT.md`` lists what is and is not caught.

Appends are safe across processes: an exclusive ``flock`` covers "read the tail, check the
head, write the next record, fsync, rewrite the head", so two writers can never both link to
the same previous record; verify reads the log and its head under a shared lock.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from theseus._jsonvalue import dumps, to_json_safe
from theseus.errors import AuditError
from theseus.lineage.audit_chain import (
    GENESIS,
    check_chain,
    first_line,
    is_keyed,
    last_line,
    record_hash,
    split_lines,
)
from theseus.lineage.audit_head import (
    KEY_ENV,
    Finding,
    HeadFile,
    check_against_git,
    check_head,
    read_head,
    write_head,
)

__all__ = [
    "AUDIT_FILE",
    "GENESIS",
    "KEY_ENV",
    "KINDS",
    "AuditError",
    "AuditLog",
    "VerifyResult",
    "record_hash",
]

AUDIT_FILE = "audit.jsonl"
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
_UNKEYED_WARNING = (
    f"the log is not keyed ({KEY_ENV} is not set): whoever can write it can edit records, "
    "cut off its tail or rebuild it whole, head file included, and this check cannot tell"
)
_NO_REPO = (
    "promotion commits were not checked (no repository given): deleting the log with its "
    "head file, or putting back an older copy of both, goes unseen"
)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking the whole chain: ``first_bad_seq`` names the first broken record.

    ``head`` is the head file's state (missing, damaged, unkeyed, keyed); ``commits_checked``
    how many promotion commits were compared (None: no repository given); ``bad_commit`` the
    commit the log contradicts, when that is the failure.
    """

    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str | None = None
    keyed: int = 0
    warnings: list[str] = field(default_factory=list)
    head: str = "missing"
    commits_checked: int | None = None
    bad_commit: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "keyed_records": self.keyed,
            "warnings": list(self.warnings),
            "head": self.head,
            "commits_checked": self.commits_checked,
            "bad_commit": self.bad_commit,
        }


def _key_from_env() -> bytes | None:
    value = os.environ.get(KEY_ENV)
    return value.encode() if value else None


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
        """Add one record at the end of the chain and return it (with its hash).

        Refuses (AuditError, nothing written) to append without the key to a keyed log, with
        the key to an unkeyed one, or after a tail the head file does not vouch for: writing
        a new head there would make a deleted tail or a forged head look sound.
        """
        if kind not in KINDS:
            raise AuditError(f"unknown audit kind {kind!r}", hint=f"use one of {sorted(KINDS)}")
        key = self.key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            previous = self._tail(fd)
            self._check_append(fd, previous, key)
            seq = 1 if previous is None else int(previous["seq"]) + 1
            record: dict[str, Any] = {
                "seq": seq,
                "time": datetime.now(UTC).isoformat(timespec="microseconds"),
                "actor": actor,
                "kind": kind,
                "payload": to_json_safe(payload),
                "mode": "hmac-sha256" if key is not None else "sha256",
                "prev": GENESIS if previous is None else str(previous["hash"]),
            }
            record["hash"] = record_hash(record, key)
            os.write(fd, (dumps(record) + "\n").encode())
            os.fsync(fd)
            write_head(self.head_path, seq, record["hash"], key)
        finally:
            os.close(fd)
        return record

    def _tail(self, fd: int) -> dict[str, Any] | None:
        last = last_line(fd)
        if last is None:
            return None
        try:
            previous = json.loads(last)
            int(previous["seq"]), str(previous["hash"]), str(previous["prev"])
        except (ValueError, KeyError, TypeError):
            raise AuditError(
                f"{self.path}: the last record is damaged; not appending after it",
                hint="run `theseus audit verify` to see where the chain breaks",
            ) from None
        return dict(previous)

    def _check_append(self, fd: int, previous: dict[str, Any] | None, key: bytes | None) -> None:
        """Why appending now would be unsafe, as an AuditError (see :meth:`append`)."""
        head = read_head(self.head_path)
        first = first_line(fd) if previous is not None else None
        first_keyed = is_keyed(first)
        keyed_log = first_keyed or (previous is not None and previous.get("mode") == "hmac-sha256")
        if key is None and (keyed_log or (isinstance(head, HeadFile) and head.keyed)):
            raise AuditError(
                f"{self.path} is an HMAC-keyed audit log: refusing to append an unkeyed record",
                hint=f"set {KEY_ENV} to the audit key",
            )
        if key is not None and previous is not None and not first_keyed:
            raise AuditError(
                f"{self.path} holds unkeyed records: a keyed log must be keyed from record 1",
                hint=f"move {self.path.name} and {self.head_path.name} aside to start a keyed "
                f"log, or unset {KEY_ENV}",
            )
        count = 0 if previous is None else int(previous["seq"])
        known = {} if previous is None else {count: previous["hash"], count - 1: previous["prev"]}
        found = check_head(
            head,
            name=self.head_path.name,
            count=count,
            hash_of=known.get,
            key=key,
            strict=key is not None,
        )
        if found.problem is not None:
            raise AuditError(
                f"{self.path}: not appending: {found.problem}",
                hint="run `theseus audit verify`; restore the log from a backup, or run "
                "`theseus audit seal` once you have checked it",
            )

    def head(self) -> tuple[int, str] | None:
        """(seq, hash) of the last record, None for an empty log: what a promotion commit
        records in its trailers (``lineage.git.promote(audit_head=...)``)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AuditError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            last = self._tail(fd)
        finally:
            os.close(fd)
        return None if last is None else (int(last["seq"]), str(last["hash"]))

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

    def _snapshot(self) -> tuple[bytes | None, HeadFile | str | None]:
        """The log's bytes (None when absent) and its head file, read under a shared lock so
        an append in between cannot make a sound log look truncated."""
        try:
            with self.path.open("rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_SH)
                return handle.read(), read_head(self.head_path)
        except FileNotFoundError:
            return None, read_head(self.head_path)
        except OSError as exc:
            raise AuditError(f"cannot read {self.path}: {exc.strerror}") from None

    def verify(self, *, require_key: bool | None = None, repo: Path | None = None) -> VerifyResult:
        """Check the whole chain, its head file and (with ``repo``) the promotion commits'
        audit trailers; the first problem found names its record (and commit).

        ``require_key`` defaults to what the log is: keyed as soon as a key is set or any
        record or the head file is keyed, and then unkeyed records and a missing or unkeyed
        head fail. ``True`` demands a key even of an unkeyed log; ``False`` is the old,
        unsafe reading (unkeyed records before keyed ones, an unkeyed head), only for
        inspecting a log that began before its key.
        """
        data, head = self._snapshot()
        key = self.key
        lines, terminated = split_lines(data)
        head_keyed = isinstance(head, HeadFile) and head.keyed
        keyed_log = key is not None or head_keyed or any(is_keyed(line) for line in lines)
        strict = keyed_log if require_key is None else require_key
        state = "missing" if head is None else "damaged" if isinstance(head, str) else "unkeyed"
        state = "keyed" if head_keyed else state
        required = _why_keyed(key, head_keyed, keyed_log) if strict else None
        hashes, keyed, broken = check_chain(lines, terminated, key, required)
        if broken is not None:
            return VerifyResult(False, len(hashes), broken[0], broken[1], keyed, [], state)
        count = len(hashes)

        def hash_of(seq: int) -> str | None:
            return hashes[seq - 1] if 1 <= seq <= count else None

        name = self.head_path.name
        found = check_head(head, name=name, count=count, hash_of=hash_of, key=key, strict=strict)
        if found.problem is None and repo is not None:
            warnings = found.warnings
            found = check_against_git(repo, count, hash_of)
            found.warnings[:0] = warnings
        if data is None and head is None:
            found.warnings.append(f"{self.path} does not exist yet")
        if count and not keyed_log:
            found.warnings.append(_UNKEYED_WARNING)
        if repo is None:
            found.warnings.append(_NO_REPO)
        return VerifyResult(
            found.problem is None, count, found.seq, found.problem, keyed,
            found.warnings, state, found.commits, found.commit,
        )  # fmt: skip

    def seal(self, repo: Path | None = None) -> tuple[int, str]:
        """Write a keyed head file for the log as it is, after checking the whole chain (and
        ``repo``'s promotion commits) with the key; returns the (seq, hash) now vouched for.

        For a keyed log whose head file predates keyed heads, or was lost: whoever seals
        vouches that the log was not cut short, so check it against a backup first.
        """
        key = self.key
        if key is None:
            raise AuditError("sealing writes a keyed head file", hint=f"set {KEY_ENV} to the key")
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            raise AuditError(f"{self.path} does not exist: nothing to seal") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            lines, terminated = split_lines(handle.read())
            hashes, _, broken = check_chain(lines, terminated, key, f"{KEY_ENV} is set")
            found = Finding() if broken is None else Finding().fail(*broken)
            if found.problem is None and not hashes:
                found.fail(None, "the log has no records")
            if found.problem is None and repo is not None:
                found = check_against_git(
                    repo, len(hashes), lambda s: hashes[s - 1] if 0 < s <= len(hashes) else None
                )
            if found.problem is not None:
                raise AuditError(
                    f"not sealing {self.path}: {found.problem}",
                    hint="seal only a log that verifies but for its head file",
                )
            write_head(self.head_path, len(hashes), hashes[-1], key)
        return len(hashes), hashes[-1]


def _why_keyed(key: bytes | None, head_keyed: bool, keyed_records: bool) -> str:
    """Why a chain must be keyed throughout, for the message naming an unkeyed record."""
    if key is not None:
        return f"{KEY_ENV} is set"
    if head_keyed:
        return "its head file is keyed"
    return "the log has keyed records" if keyed_records else "a key is required"
