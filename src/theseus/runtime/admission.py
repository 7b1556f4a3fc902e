"""Which commits the service may be swapped to: those the gate promoted, unless forced.

A promoted commit is one the cycle recorded in the audit log as a ``deploy`` of a candidate
(``{"candidate": id, "commit": sha}``) whose archive status is still ``promoted``. Anything
else (a commit nobody verified, a rolled-back fix, a branch an attacker pushed) needs
``theseus deploy --force``, which the service audits with the actor who forced it.
"""

from __future__ import annotations

from theseus.config import Settings
from theseus.errors import TheseusError
from theseus.lineage import Archive, AuditLog
from theseus.lineage.audit import AUDIT_FILE
from theseus.lineage.db import DB_FILE

__all__ = ["promoted_candidate"]


def promoted_candidate(settings: Settings, commit: str) -> str | None:
    """The id of the promoted candidate whose commit is ``commit`` (a full sha), else None.

    Reads the project's own records; a log that is unreadable or does not verify (a forged
    or truncated chain) admits nothing."""
    audit_path = settings.state_dir / AUDIT_FILE
    db_path = settings.state_dir / DB_FILE
    if not audit_path.is_file() or not db_path.is_file():
        return None
    try:
        audit = AuditLog(audit_path)
        if not audit.verify().ok:
            return None
        records = audit.records()
    except TheseusError:
        return None
    claimed = [
        str(record["payload"]["candidate"])
        for record in records
        if record.get("kind") == "deploy"
        and isinstance(record.get("payload"), dict)
        and record["payload"].get("commit") == commit
        and record["payload"].get("candidate")
    ]
    if not claimed:
        return None
    archive = Archive(db_path)
    try:
        for candidate in reversed(claimed):
            try:
                if archive.status(candidate) == "promoted":
                    return candidate
            except TheseusError:
                continue
    finally:
        archive.close()
    return None
