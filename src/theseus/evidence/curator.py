"""The curator: raw evidence -> failure batches, ranked by what fixing them is worth.

A failure is a recorded task that raised, or a task that a ``report_failure`` marked wrong.
Each task counts once however many reports it has. Failures are grouped by signature
(evidence/signature.py), filtered by severity, and each batch is scored count x severity
weight, so a frequent medium bug can outrank a rare high one, as it should for the users who
hit it. Each batch carries the replay cases verification will run: distinct, replayable
inputs with an oracle (the expected output when someone reported one, else "must not raise").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from theseus._jsonvalue import dumps, has_marker
from theseus.config import SEVERITY_WEIGHT, Settings
from theseus.errors import EvidenceError
from theseus.evidence.divergence import divergence_labels
from theseus.evidence.expectations import OracleMaker, holdout_ids
from theseus.evidence.records import FailureBatch, FailureReport, ReplayCase, TaskRecord
from theseus.evidence.signature import Signature, signature_for
from theseus.evidence.store import EvidenceStore
from theseus.paths import rules_from


@dataclass
class _Failure:
    """One failed task with what the reports on it add."""

    task: TaskRecord
    reports: list[FailureReport]
    severity: str
    expected: FailureReport | None  # the newest report that carries an expected output


@dataclass
class _Group:
    signature: Signature
    kind: str
    failures: list[_Failure] = field(default_factory=list)


def _failures(
    store: EvidenceStore, settings: Settings, since: float | None, code_version: str | None
) -> list[_Failure]:
    by_task: dict[str, list[FailureReport]] = {}
    for report in store.reports():
        by_task.setdefault(report.task_id, []).append(report)
    tasks = {t.id: t for t in store.tasks(failed_only=True, since=since, code_version=code_version)}
    reported = [tid for tid in by_task if tid not in tasks]
    for record in store.tasks_by_ids(reported):
        if (since is None or record.started_at >= since) and (
            code_version is None or record.code_version == code_version
        ):
            tasks[record.id] = record
    # Reports about tasks this store does not hold cannot be replayed or located: skipped.
    failures: list[_Failure] = []
    for record in sorted(tasks.values(), key=lambda t: (t.started_at, t.id)):
        reports = by_task.get(record.id, [])
        if reports:
            severity = max((r.severity for r in reports), key=SEVERITY_WEIGHT.__getitem__)
        else:
            severity = settings.evidence.exception_severity
        with_expected = [r for r in reports if r.has_expected]
        failures.append(
            _Failure(record, reports, severity, with_expected[-1] if with_expected else None)
        )
    return failures


def curate(
    store: EvidenceStore,
    settings: Settings,
    *,
    min_severity: str | None = None,
    since: float | None = None,
    code_version: str | None = None,
    paths: Mapping[str, Sequence[str]] | None = None,
) -> list[FailureBatch]:
    """Failure batches, highest score first (ties: more failures, then most recent).

    ``min_severity`` defaults to ``settings.evidence.min_severity``; failures below it are
    dropped before grouping. ``since`` / ``code_version`` restrict which tasks count.
    ``paths`` (task id -> mutable functions its input runs, from
    :func:`theseus.verify.execution_paths`) splits wrong answers by where they diverge.
    """
    floor = min_severity or settings.evidence.min_severity
    if floor not in SEVERITY_WEIGHT:
        raise EvidenceError(
            f"unknown severity {floor!r}", hint=f"use one of {', '.join(SEVERITY_WEIGHT)}"
        )
    rules = rules_from(settings.root, settings.paths.mutable, settings.paths.protected)
    groups: dict[str, _Group] = {}
    failures = [
        f
        for f in _failures(store, settings, since, code_version)
        if SEVERITY_WEIGHT[f.severity] >= SEVERITY_WEIGHT[floor]
    ]
    labels: dict[str, str] = {}
    if paths:
        function_of = {t.id: t.function for t in store.tasks_by_ids(list(paths))}
        returned = [f.task.id for f in failures if f.task.error is None]
        labels = divergence_labels(returned, function_of, paths)
    forgotten = {
        sig: mark.at for sig, mark in store.signature_marks().items() if mark.mark == "forgotten"
    }
    for failure in failures:
        newest = failure.reports[-1] if failure.reports else None
        signature = signature_for(failure.task, newest, rules, labels.get(failure.task.id))
        if signature.id in forgotten:
            seen = max([failure.task.started_at, *(r.created_at for r in failure.reports)])
            if seen <= forgotten[signature.id]:
                continue  # `theseus evidence forget`: only what came after counts
        kind = "exception" if failure.task.error is not None else "semantic"
        group = groups.setdefault(signature.id, _Group(signature, kind))
        group.failures.append(failure)
    oracles = OracleMaker(store, settings, rules)
    batches = [_batch(group, settings, oracles) for group in groups.values()]
    batches.sort(key=lambda b: (-b.score, -b.count, -b.last_seen, b.signature))
    return batches


def _batch(group: _Group, settings: Settings, oracles: OracleMaker) -> FailureBatch:
    failures = group.failures
    cases = replay_cases(failures, settings.replay.max_cases, oracles)
    severity = max((f.severity for f in failures), key=SEVERITY_WEIGHT.__getitem__)
    newest = failures[-1].task
    return FailureBatch(
        signature=group.signature.id,
        kind="exception" if group.kind == "exception" else "semantic",
        title=group.signature.title,
        count=len(failures),
        severity=severity,  # a key of SEVERITY_WEIGHT
        score=float(len(failures) * SEVERITY_WEIGHT[severity]),
        first_seen=failures[0].task.started_at,
        last_seen=newest.started_at,
        task_ids=[f.task.id for f in failures],
        cases=cases,
        frames=list(newest.error.frames) if newest.error is not None else [],
        location=group.signature.location,
        holdout=holdout_ids(group.signature.id, cases, settings),
    )


def replay_cases(
    failures: list[_Failure], max_cases: int, oracles: OracleMaker
) -> list[ReplayCase]:
    """Distinct replayable inputs, oldest first, at most ``max_cases``.

    Identical inputs (same function, same JSON) become one case; a case with an expected
    output wins over a "must not raise" one for the same input. Inputs holding an
    unserialisable marker are skipped: replay could not reconstruct them.
    """
    cases: dict[str, ReplayCase] = {}
    for failure in failures:
        task = failure.task
        if has_marker(task.input):
            continue
        key = f"{task.function}\0{dumps(task.input)}"
        known = cases.get(key)
        if known is not None and not (
            known.oracle.kind == "no_raise" and failure.expected is not None
        ):
            continue
        if known is None and len(cases) >= max_cases:
            continue
        cases[key] = ReplayCase(
            task_id=task.id,
            function=task.function,
            input=task.input,
            oracle=oracles.oracle(task, failure.expected),
            calls=task.calls,
        )
    return list(cases.values())
