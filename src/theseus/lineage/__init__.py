"""lineage stage: where every candidate, decision and live version is kept for good.

The archive (:mod:`.archive`) holds every candidate with its scores and status history in
the project's state database (:mod:`.db`); the audit log (:mod:`.audit`) is a hash chain of
every decision; git (:mod:`.git`) holds every candidate as a ref and every promoted version
as a commit on the branch. :mod:`.state` finds a project's root and opens its records.

Imports change (a candidate is what it stores), never verify, propose, gate, runtime or
evolve.
"""

from theseus.lineage.archive import STATUSES, TRANSITIONS, Archive, Transition
from theseus.lineage.audit import AUDIT_FILE, KINDS, AuditLog, VerifyResult
from theseus.lineage.db import DB_FILE, Database
from theseus.lineage.git import (
    AuditMark,
    Version,
    audit_marks,
    head,
    line_head,
    promote,
    promotion_message,
    resolve,
    revert,
    store_candidate_ref,
    versions,
)
from theseus.lineage.state import (
    current_actor,
    open_archive,
    open_audit,
    project_root,
    state_dir,
)

__all__ = [
    "AUDIT_FILE",
    "DB_FILE",
    "KINDS",
    "STATUSES",
    "TRANSITIONS",
    "Archive",
    "AuditLog",
    "AuditMark",
    "Database",
    "Transition",
    "VerifyResult",
    "Version",
    "audit_marks",
    "current_actor",
    "head",
    "line_head",
    "open_archive",
    "open_audit",
    "project_root",
    "promote",
    "promotion_message",
    "resolve",
    "revert",
    "state_dir",
    "store_candidate_ref",
    "versions",
]
