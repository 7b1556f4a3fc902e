"""Where the end of the audit log is vouched for: its head file, and promotion commits.

A hash chain proves that no record *inside* it changed, but a chain cut short at any record
is still a sound chain. Two things outside the chain say where it must end:

- The head file (``audit.jsonl.head``: last seq and hash), rewritten atomically with each
  append. With a key it carries an HMAC over seq and hash, so whoever lacks the key can
  neither write one for a shorter log nor recreate it once removed (an older head file kept
  from before is still valid: only git catches that); without a key it only catches a
  careless truncation (``docs/AUDIT.md`` has the exact limits).
- Promotion commits: each carries ``Theseus-Audit-Seq``/``Theseus-Audit-Head`` trailers
  naming the last record at promotion time, so every clone of the repository remembers how
  far the log had reached and what that record's hash was.

This module reads and checks both; :mod:`.audit_chain` checks the records themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from theseus._atomic import write_text_atomic
from theseus.lineage.git import AUDIT_HEAD_TRAILER, AUDIT_SEQ_TRAILER, audit_marks

KEY_ENV = "THESEUS_AUDIT_KEY"
HEAD_MODE = "hmac-sha256"
_HASH = re.compile(r"[0-9a-f]{64}")
_HEAD_FIELDS = ({"seq", "hash"}, {"seq", "hash", "mode", "mac"})


@dataclass(frozen=True)
class HeadFile:
    """The parsed head file; ``mac`` is None for an unkeyed one."""

    seq: int
    digest: str
    mac: str | None = None

    @property
    def keyed(self) -> bool:
        return self.mac is not None


@dataclass
class Finding:
    """What a check found: the first problem (with the seq it names) and any warnings."""

    problem: str | None = None
    seq: int | None = None
    warnings: list[str] = field(default_factory=list)
    commits: int | None = None
    commit: str | None = None

    def fail(self, seq: int | None, problem: str, commit: str | None = None) -> Finding:
        self.problem, self.seq, self.commit = problem, seq, commit
        return self


def head_mac(key: bytes, seq: int, digest: str) -> str:
    """The head file's HMAC; a domain prefix keeps it from ever equalling a record's hash."""
    return hmac.new(
        key, f"theseus-audit-head\n{seq}\n{digest}".encode(), hashlib.sha256
    ).hexdigest()


def write_head(path: Path, seq: int, digest: str, key: bytes | None) -> None:
    """Vouch for record ``seq`` (atomically: a reader sees the old head or the new one)."""
    head: dict[str, object] = {"seq": seq, "hash": digest}
    if key is not None:
        head.update(mode=HEAD_MODE, mac=head_mac(key, seq, digest))
    write_text_atomic(path, json.dumps(head) + "\n")


def read_head(path: Path) -> HeadFile | str | None:
    """The head file, None when there is none, or a string saying why it is damaged."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    except (UnicodeDecodeError, ValueError):
        return "is not valid JSON (it was edited)"
    if not isinstance(raw, dict) or set(raw) not in _HEAD_FIELDS:
        return "does not have the head fields (it was edited)"
    seq, digest, mac = raw["seq"], raw["hash"], raw.get("mac")
    if (
        type(seq) is not int
        or seq < 1
        or not isinstance(digest, str)
        or not _HASH.fullmatch(digest)
    ):
        return "does not hold a record number and hash (it was edited)"
    if mac is not None and (raw.get("mode") != HEAD_MODE or not _HASH.fullmatch(str(mac))):
        return "has a malformed MAC (it was edited)"
    return HeadFile(seq, digest, None if mac is None else str(mac))


def check_head(
    head: HeadFile | str | None,
    *,
    name: str,
    count: int,
    hash_of: Callable[[int], str | None],
    key: bytes | None,
    strict: bool,
) -> Finding:
    """Does ``head`` vouch for a log of ``count`` records (``hash_of(seq)`` gives their hashes)?

    ``strict`` (a keyed log) makes a missing or unkeyed head a failure: it is exactly what
    someone without the key leaves behind after cutting the tail off.
    """
    found = Finding()
    if isinstance(head, str):
        return found.fail(count, f"the head file {name} {head}")
    if head is None:
        if count and strict:
            return found.fail(
                count,
                f"the head file {name} is missing: a keyed log must have one, so records "
                f"after {count} may have been deleted",
            )
        if count:
            found.warnings.append(f"{name} is missing: a deleted tail would go unseen")
        return found
    if head.mac is None:
        if strict:
            return found.fail(
                count,
                f"the head file {name} is not keyed (rewritten without {KEY_ENV}, or written "
                "before head files were keyed: see `theseus audit seal`)",
            )
    elif key is None:
        if strict:
            return found.fail(count, f"the head file {name} is keyed: set {KEY_ENV} to check it")
        found.warnings.append(f"the head file {name} is keyed but {KEY_ENV} is not set")
    elif not hmac.compare_digest(head.mac, head_mac(key, head.seq, head.digest)):
        return found.fail(
            count, f"the head file {name} has a wrong MAC (it was rewritten without the key)"
        )
    if head.seq > count:
        if count == 0:
            return found.fail(
                1, f"the log has no records but {name} says {head.seq} (the log was deleted)"
            )
        return found.fail(
            count + 1,
            f"record {count + 1} is missing: the log ends at record {count} but its head "
            f"file says {head.seq} (records were deleted from the end)",
        )
    if hash_of(head.seq) != head.digest:
        return found.fail(head.seq, f"record {head.seq} does not match the head file {name}")
    if head.seq < count:
        found.warnings.append(
            f"{name} vouches for record {head.seq} of {count} (an append was interrupted?)"
        )
    return found


def check_against_git(repo: Path, count: int, hash_of: Callable[[int], str | None]) -> Finding:
    """Every promotion commit on the branch names a record the log must still hold, unchanged.

    Checked oldest first, so the failure names the first promotion the log contradicts.
    """
    found = Finding()
    marks = list(reversed(audit_marks(repo)))
    found.commits = len(marks)
    for mark in marks:
        short = mark.commit[:12]
        if mark.seq is None or mark.seq < 1 or not _HASH.fullmatch(mark.digest):
            return found.fail(
                None,
                f"commit {short} has malformed {AUDIT_SEQ_TRAILER}/{AUDIT_HEAD_TRAILER} trailers",
                mark.commit,
            )
        if mark.seq > count:
            return found.fail(
                mark.seq,
                f"record {mark.seq} is missing: commit {short} was promoted when the log "
                f"reached record {mark.seq}, but it now ends at record {count} "
                "(records were deleted)",
                mark.commit,
            )
        actual = hash_of(mark.seq)
        if actual != mark.digest:
            return found.fail(
                mark.seq,
                f"record {mark.seq} was rewritten: commit {short} names its hash "
                f"{mark.digest[:12]}, the log has {(actual or '?')[:12]}",
                mark.commit,
            )
    return found
