"""evidence stage: what the running agent did, and where it went wrong.

The agent's side is ``@theseus.task`` and ``theseus.report_failure`` (:mod:`.sdk`), which
record every call into a SQLite store (:mod:`.store`); the curator (:mod:`.curator`) groups
what was recorded into failure batches by signature, each with replayable cases, for the
stages after it. JSONL transfer (:mod:`.transfer`) moves evidence between stores.

This is the first stage: it imports only the foundation (config, errors, paths), never a
later stage. Its SDK half runs inside the agent's own processes, so it stays cheap to import.
"""

from theseus.evidence.context import current_task_id, new_task_id, session
from theseus.evidence.curator import curate
from theseus.evidence.records import (
    ErrorInfo,
    FailureBatch,
    FailureReport,
    Frame,
    Oracle,
    RecordedCall,
    ReplayCase,
    TaskRecord,
)
from theseus.evidence.sdk import configure, report_failure, task
from theseus.evidence.signature import Signature, signature_for
from theseus.evidence.store import SCHEMA_VERSION, EvidenceStore, SignatureMark
from theseus.evidence.transfer import export_jsonl, import_jsonl, parse_jsonl

__all__ = [
    "SCHEMA_VERSION",
    "ErrorInfo",
    "EvidenceStore",
    "FailureBatch",
    "FailureReport",
    "Frame",
    "Oracle",
    "RecordedCall",
    "ReplayCase",
    "Signature",
    "SignatureMark",
    "TaskRecord",
    "configure",
    "curate",
    "current_task_id",
    "export_jsonl",
    "import_jsonl",
    "new_task_id",
    "parse_jsonl",
    "report_failure",
    "session",
    "signature_for",
    "task",
]
