"""Where the SDK's records go: a store per path, or back to the supervisor with the answer.

Outside ``theseus serve`` each record is one line appended to this process's journal
beside the project's store (:mod:`theseus.evidence.journal`): durable once the call
returns, at the cost of one ``write()``; the store takes the journals in when opened. A served worker is different: it runs with the least privilege Theseus can give it
and has no business opening ``.theseus/evidence.db`` (a promoted version that turned out
malicious could rewrite the evidence the next cycle learns from). There, the supervisor
sets ``THESEUS_EVIDENCE_RELAY=1``; records then wait in this process's outbox, the worker
hands them back inside the call's answer (:func:`take_relayed`), and the supervisor checks
them and writes them before the client gets its reply, so a returned call's record is as
durable as before.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from theseus.errors import EvidenceError
from theseus.evidence.journal import Journal
from theseus.evidence.records import FailureReport, TaskRecord

__all__ = ["MAX_RELAYED", "RELAY_ENV", "Recorder", "relaying", "take_relayed"]

RELAY_ENV = "THESEUS_EVIDENCE_RELAY"
MAX_RELAYED = 256  # records kept for one answer; more are dropped with one warning
log = logging.getLogger("theseus.evidence")

_outbox: list[dict[str, Any]] = []
_outbox_lock = threading.Lock()


def relaying() -> bool:
    """Whether records go back to a supervisor instead of into a store."""
    return os.environ.get(RELAY_ENV, "") == "1"


def take_relayed() -> list[dict[str, Any]]:
    """The records made since the last call, as JSON-safe dicts, and an empty outbox."""
    with _outbox_lock:
        taken = list(_outbox)
        _outbox.clear()
    return taken


class Recorder:
    """Where this process's records go: the journal (or the relay), shared by threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._journal = Journal()
        self._warned: set[str] = set()
        self.task_paths: OrderedDict[str, Path] = OrderedDict()
        self.last_path: Path | None = None
        atexit.register(self._journal.seal_all)

    def write_task(self, path: Path, record: TaskRecord) -> bool:
        if relaying():
            return self._relay("task", record.model_dump(mode="json"))
        return self._write(path, "task", record.model_dump_json())

    def write_report(self, path: Path, report: FailureReport) -> bool:
        if relaying():
            return self._relay("report", report.model_dump(mode="json"))
        return self._write(path, "report", report.model_dump_json())

    def _relay(self, kind: str, body: dict[str, Any]) -> bool:
        with _outbox_lock:
            if len(_outbox) >= MAX_RELAYED:
                full = EvidenceError(f"more than {MAX_RELAYED} records in one call")
                self.warn("relay", full)
                return False
            _outbox.append({"kind": kind, "record": body})
        return True

    def _write(self, path: Path, kind: str, body: str) -> bool:
        try:
            self._journal.append(path, kind, body)
            self.last_path = path
            return True
        except Exception as exc:
            self.warn(str(path), exc)
            return False

    def remember(self, task_id: str, path: Path) -> None:
        with self._lock:
            self.task_paths[task_id] = path
            if len(self.task_paths) > 4096:
                self.task_paths.popitem(last=False)

    def warn(self, key: str, exc: BaseException) -> None:
        """One warning per store per process; the rest go to debug, so a broken disk does not
        flood the agent's logs."""
        detail = exc.line() if isinstance(exc, EvidenceError) else f"{type(exc).__name__}: {exc}"
        if key in self._warned:
            log.debug("theseus: evidence not recorded (%s): %s", key, detail)
            return
        self._warned.add(key)
        log.warning(
            "theseus: evidence not recorded, the agent's call goes on (%s): %s", key, detail
        )

    def close_all(self) -> None:
        """Seal this process's journal files (the store deletes them once taken in)."""
        self._journal.seal_all()
