"""What each replayed case must do, and which cases the proposers never see.

The curator decides a case's oracle here. A reported expected value (plain or a matcher) is
the oracle when there is one. A crash has none, and "stop raising" alone let a wrong fix
through, so a crash case also demands (each switchable in ``[replay]``):

- ``type_check``: the functions on the crash's path in mutable code return values of their
  annotated types (judged in the sandbox by :class:`theseus.oracles.ReturnTypeWatch`);
- ``reply_shape``: the reply has the shape of the function's successful replies to inputs of
  the same kind (a JSON Schema inferred from up to ``SHAPE_SAMPLES`` recent successes).

Held-out cases: ``holdout_share`` of a batch (chosen by a hash of the signature and task id,
so the choice is stable across runs and machines) is kept from the proposers; verification
runs every case, so a fix fitted to what it saw fails the ones it did not.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

from theseus._jsonvalue import to_json_safe
from theseus.config import SEVERITY_WEIGHT, Settings
from theseus.errors import EvidenceError
from theseus.evidence.records import FailureReport, Oracle, ReplayCase, TaskRecord
from theseus.evidence.store import EvidenceStore
from theseus.oracles import infer_reply_schema, input_kind, matcher_problem, report_problem
from theseus.paths import PathRules

__all__ = ["NO_EXPECTED", "SHAPE_SAMPLES", "OracleMaker", "holdout_ids", "make_report"]

NO_EXPECTED: Any = object()
"""``make_report(expected=NO_EXPECTED)``: the reporter does not know the right answer."""


def make_report(
    task_id: str,
    *,
    kind: str = "wrong_answer",
    expected: Any = NO_EXPECTED,
    note: str = "",
    severity: str = "medium",
    task: TaskRecord | None = None,
) -> FailureReport:
    """A checked failure report; EvidenceError (one line) when it could never be used.

    Every way a report arrives (``report_failure``, ``POST /tasks/{id}/reports``,
    ``theseus evidence report``) builds it here, so all refuse the same things: an unknown
    severity, an empty kind, a malformed matcher, and, when ``task`` (the reported call) is
    known and returned, an expected value that can never equal its kind of reply or that the
    reply already matches (:func:`theseus.oracles.report_problem`).
    """
    if severity not in SEVERITY_WEIGHT:
        raise EvidenceError(
            f"report: severity {severity!r} is not one of {', '.join(SEVERITY_WEIGHT)}",
            hint="pass one of those",
        )
    if not isinstance(kind, str) or not kind.strip():
        raise EvidenceError("report: kind must be a non-empty string such as 'wrong_answer'")
    if not isinstance(task_id, str) or not task_id:
        raise EvidenceError("report: task_id must be the id of a recorded task")
    given = expected is not NO_EXPECTED
    value = to_json_safe(expected) if given else None
    if given:
        problem = matcher_problem(value)
        if problem is None and task is not None and task.error is None:
            problem = report_problem(value, task.output)
        if problem is not None:
            raise EvidenceError(f"report on task {task_id[:12]}: {problem}")
    return FailureReport(
        id=uuid.uuid4().hex,
        task_id=task_id,
        kind=kind.strip(),
        expected=value,
        has_expected=given,
        note=str(note),
        severity=severity,  # checked above
        created_at=time.time(),
    )


SHAPE_SAMPLES = 200


class OracleMaker:
    """Builds oracles for one curation, reading each function's successes once."""

    def __init__(self, store: EvidenceStore, settings: Settings, rules: PathRules) -> None:
        self._store = store
        self._settings = settings
        self._rules = rules
        self._successes: dict[str, list[TaskRecord]] = {}
        self._schemas: dict[tuple[str, str], Any] = {}
        self._reported: set[str] | None = None

    def oracle(self, task: TaskRecord, expected: FailureReport | None) -> Oracle:
        if expected is not None:
            return Oracle(kind="expected", expected=expected.expected)
        replay = self._settings.replay
        typed: list[str] = []
        if replay.type_check and task.error is not None:
            typed = self._typed_frames(task)
        schema = self._reply_schema(task) if replay.reply_shape else None
        return Oracle(kind="no_raise", typed_frames=typed, reply_schema=schema)

    def _typed_frames(self, task: TaskRecord) -> list[str]:
        assert task.error is not None
        frames = [f for f in task.error.frames if self._rules.is_mutable(f.file)]
        return list(dict.fromkeys(f"{f.file}:{f.function}" for f in frames))

    def _reply_schema(self, task: TaskRecord) -> Any:
        kind = input_kind(task.input)
        key = (task.function, kind)
        if key not in self._schemas:
            successes = self._good_replies(task.function)
            same_kind = [t.output for t in successes if input_kind(t.input) == kind]
            schema = infer_reply_schema(same_kind)
            if schema is None:  # too few of this kind: the function's replies in general
                schema = infer_reply_schema(t.output for t in successes)
            self._schemas[key] = schema
        return self._schemas[key]

    def _good_replies(self, function: str) -> list[TaskRecord]:
        if function not in self._successes:
            if self._reported is None:
                self._reported = {report.task_id for report in self._store.reports()}
            reported = self._reported
            self._successes[function] = [
                t
                for t in self._store.successes(function, limit=SHAPE_SAMPLES)
                if t.id not in reported
            ]
        return self._successes[function]


def holdout_ids(signature: str, cases: list[ReplayCase], settings: Settings) -> list[str]:
    """Task ids of the cases held out from proposers (stable for the same cases)."""
    share = settings.replay.holdout_share
    if share <= 0 or len(cases) < settings.replay.holdout_min_cases:
        return []
    count = int(len(cases) * share)

    def rank(case: ReplayCase) -> str:
        return hashlib.sha256(f"{signature}\0{case.task_id}".encode()).hexdigest()

    return [case.task_id for case in sorted(cases, key=rank)[:count]]
