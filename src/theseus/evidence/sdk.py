"""The agent-side SDK: ``@task`` records every call, ``report_failure`` adds what went wrong.

Two promises shape this module. Recording never makes the agent's call fail: anything that
goes wrong while capturing or storing becomes one logged warning and the call proceeds with
its own result or its own exception, unchanged. And recording is cheap: the project root and
code version are looked up once, the store connection is opened once per process, and each
record is one small SQLite transaction (see benchmarks/results/sdk_overhead.md).

Where records go, first match wins: ``configure(store=...)``, env ``THESEUS_EVIDENCE_DB``,
the ``[evidence].store`` of the nearest theseus.toml above the decorated function's file
(relative to that folder), else ``.theseus/evidence.db`` under the current folder.
Under ``theseus serve`` (env ``THESEUS_EVIDENCE_RELAY=1``) records are not written at all
in the agent's process: they wait in memory and go back to the supervisor with the call's
answer (:mod:`.recorder`), so a served worker needs no access to the store.
``THESEUS_RECORD=0`` (set by the sandbox replay) or ``configure(enabled=False)`` turns
recording off; the function then runs exactly as if undecorated, except that
``current_task_id()`` still answers.

A caller that must know a call's id before it runs (the live runtime puts it in its HTTP reply,
so a client can report a wrong answer against it) assigns it: ``session(sid, task_id=...)``
makes the *outermost* ``@task`` call in the block use that id, once; nested tasks and later
calls in the same block get fresh ids, so no two records ever share one. The id is checked
(hex digits, optionally dash-separated like a uuid, 8 to 64 characters) when ``session`` is
called, so a bad one cannot reach the store (the rules live in :mod:`.context`).

Each record also carries the task's outbound calls (``TaskRecord.calls``): every model,
httpx, requests and ``@theseus.tool`` call made inside it, in order (:mod:`.calls`). They
belong to the *outermost* recording task, the entrypoint that replay runs again; a nested
``@task`` keeps its own list as well, numbered from 0 within it, since it may become a replay
case of its own. A task that made no calls records ``calls == []``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar, overload

from theseus._jsonvalue import to_json_safe
from theseus.errors import EvidenceError
from theseus.evidence.calls.record import Handle
from theseus.evidence.calls.record import begin as begin_calls
from theseus.evidence.capture import DEFAULT_STORE, code_version, error_info, project_for
from theseus.evidence.context import (
    AssignedTask,
    current_task_id,
    new_task_id,
    session,
    session_id_var,
    task_id_var,
)
from theseus.evidence.expectations import NO_EXPECTED, make_report
from theseus.evidence.recorder import Recorder, take_relayed
from theseus.evidence.records import RecordedCall, TaskRecord

__all__ = [
    "AssignedTask",
    "configure",
    "current_task_id",
    "report_failure",
    "session",
    "take_relayed",
    "task",
]

P = ParamSpec("P")
R = TypeVar("R")
log = logging.getLogger("theseus.evidence")


class _Omitted:
    def __repr__(self) -> str:
        return "<omitted>"


OMITTED: Final = _Omitted()

_settings: dict[str, Any] = {"store": None, "enabled": None}


def configure(*, store: str | Path | None = None, enabled: bool | None = None) -> None:
    """Override where records go and whether they are taken; None restores the default."""
    _settings["store"] = Path(store).resolve() if store is not None else None
    _settings["enabled"] = enabled


def _recording() -> bool:
    if _settings["enabled"] is False:
        return False
    return os.environ.get("THESEUS_RECORD", "1").strip().lower() not in {"0", "false", "no", "off"}


def _store_path(root: Path | None, default: str) -> Path:
    configured: Path | None = _settings["store"]
    if configured is not None:
        return configured
    key = (os.environ.get("THESEUS_EVIDENCE_DB"), root, default, None if root else os.getcwd())
    found = _resolved.get(key)
    if found is None:  # resolving is a few system calls: once per setting, not per call
        env = key[0]
        found = Path(env).resolve() if env else ((root or Path.cwd()) / default).resolve()
        if len(_resolved) > 64:
            _resolved.clear()
        _resolved[key] = found
    return found


_resolved: dict[tuple[str | None, Path | None, str, str | None], Path] = {}


_writer = Recorder()


class _RecentTasks:
    """The last few hundred tasks this process recorded, so ``report_failure`` can check an
    expected value against the reply it is about (a dict insert per call; no copies)."""

    SIZE = 512

    def __init__(self) -> None:
        self._tasks: OrderedDict[str, TaskRecord] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, record: TaskRecord) -> None:
        with self._lock:
            self._tasks[record.id] = record
            if len(self._tasks) > self.SIZE:
                self._tasks.popitem(last=False)

    def get(self, task_id: str) -> TaskRecord | None:
        with self._lock:
            return self._tasks.get(task_id)


_recent = _RecentTasks()


class _TaskMeta:
    """What is known about a decorated function before it is first called."""

    def __init__(self, fn: Callable[..., Any], idempotent: bool, name: str | None) -> None:
        self.fn = fn
        self.idempotent = idempotent
        self.function = name or f"{fn.__module__}:{fn.__qualname__}"
        self.session_index: int | None = None
        self.has_session_param = False
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            params = []
        for index, param in enumerate(params):
            if param.name == "session_id":
                self.has_session_param = True
                if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
                    self.session_index = index
        self._project: tuple[Path | None, str] | None = None

    @property
    def project(self) -> tuple[Path | None, str]:
        """(project root or None, configured store path), looked up on first use."""
        if self._project is None:
            try:
                file = inspect.getsourcefile(self.fn) or self.fn.__code__.co_filename
                found = project_for(os.path.dirname(os.path.abspath(file)))
            except Exception:
                found = None
            self._project = found if found is not None else (None, DEFAULT_STORE)
        return self._project

    def session_of(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        value: Any = None
        if self.has_session_param:
            if "session_id" in kwargs:
                value = kwargs["session_id"]
            elif self.session_index is not None and self.session_index < len(args):
                value = args[self.session_index]
        if value is None:
            return session_id_var.get()
        return value if isinstance(value, str) else str(value)


class _Call:
    """One call in flight: its input is captured at the start, before the agent can mutate it."""

    __slots__ = ("calls", "id", "input", "meta", "recorded", "session", "start", "started_at")

    def __init__(self, meta: _TaskMeta, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.meta = meta
        self.id = new_task_id()
        self.input: Any = None
        self.session: str | None = None
        try:
            self.input = to_json_safe({"args": list(args), "kwargs": kwargs})
            self.session = meta.session_of(args, kwargs)
        except Exception as exc:
            _writer.warn("capture", exc)
        self.recorded: list[RecordedCall] = []
        self.calls: Handle | None = begin_calls(_writer.warn)  # never raises: warns
        self.started_at = time.time()
        self.start = time.perf_counter()

    def end_calls(self) -> list[RecordedCall]:
        """Stop recording this task's calls (once) and give them; the scope is restored."""
        handle, self.calls = self.calls, None
        if handle is not None:
            self.recorded = handle.end()
        return self.recorded

    def finish(self, output: Any = None, exc: BaseException | None = None) -> None:
        duration_ms = (time.perf_counter() - self.start) * 1000.0
        calls = self.end_calls()
        try:
            root, store = self.meta.project
            record = TaskRecord.model_construct(
                id=self.id,
                function=self.meta.function,
                session_id=self.session,
                input=self.input,
                output=None if exc is not None else to_json_safe(output),
                error=error_info(exc, root) if exc is not None else None,
                duration_ms=duration_ms,
                code_version=code_version(root),
                started_at=self.started_at,
                idempotent=self.meta.idempotent,
                calls=calls,
            )
            path = _store_path(root, store)
        except Exception as capture_error:
            _writer.warn("capture", capture_error)
            return
        _recent.put(record)
        if _writer.write_task(path, record):
            _writer.remember(self.id, path)


def _wrap(fn: Callable[..., Any], idempotent: bool, name: str | None) -> Callable[..., Any]:
    meta = _TaskMeta(fn, idempotent, name)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_call(*args: Any, **kwargs: Any) -> Any:
            if not _recording():
                token = task_id_var.set(new_task_id())
                try:
                    return await fn(*args, **kwargs)
                finally:
                    task_id_var.reset(token)
            call = _Call(meta, args, kwargs)
            token = task_id_var.set(call.id)
            try:
                result = await fn(*args, **kwargs)
            except Exception as exc:
                call.finish(exc=exc)
                raise
            finally:
                task_id_var.reset(token)
                call.end_calls()
            call.finish(result)
            return result

        async_call.__theseus_task__ = meta  # type: ignore[attr-defined]
        return async_call

    @functools.wraps(fn)
    def call_sync(*args: Any, **kwargs: Any) -> Any:
        if not _recording():
            token = task_id_var.set(new_task_id())
            try:
                return fn(*args, **kwargs)
            finally:
                task_id_var.reset(token)
        call = _Call(meta, args, kwargs)
        token = task_id_var.set(call.id)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            call.finish(exc=exc)
            raise
        finally:
            task_id_var.reset(token)
            call.end_calls()
        call.finish(result)
        return result

    call_sync.__theseus_task__ = meta  # type: ignore[attr-defined]
    return call_sync


@overload
def task(fn: Callable[P, R]) -> Callable[P, R]: ...
@overload
def task(
    fn: None = None, *, idempotent: bool = False, name: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def task(
    fn: Callable[P, R] | None = None, *, idempotent: bool = False, name: str | None = None
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Record every call of ``fn`` (sync or async) as a TaskRecord in the evidence store.

    Use as ``@task`` or ``@task(idempotent=True, name="orders:lookup")``. ``idempotent`` tells
    replay the call may be repeated safely. Exceptions other than ``Exception`` subclasses
    (cancellation, KeyboardInterrupt) are not failures of the agent and are not recorded.
    """

    def decorate(target: Callable[P, R]) -> Callable[P, R]:
        wrapped: Callable[P, R] = _wrap(target, idempotent, name)
        return wrapped

    return decorate(fn) if fn is not None else decorate


def report_failure(
    task_id: str,
    *,
    kind: str = "wrong_answer",
    expected: Any = OMITTED,
    note: str = "",
    severity: str = "medium",
) -> str:
    """Record a semantic failure of task ``task_id`` after the fact; returns the report id.

    ``expected`` (when given, even as None) becomes the replay oracle for that task: the
    right reply, or a matcher (``theseus.partial({...})``, ``theseus.regex(...)``, ...). A
    report that could never be used raises EvidenceError (one line), as a programming error
    does (a wrong ``severity``, an empty ``kind``): a malformed matcher, or, when this process
    recorded the task, an exact object with only some of the reply's keys (use
    ``theseus.partial``) or the answer the task already gave. A store that cannot be written
    is one logged warning, as for ``@task``.
    """
    report = make_report(
        task_id,
        kind=kind,
        expected=NO_EXPECTED if expected is OMITTED else expected,
        note=note,
        severity=severity,
        task=_recent.get(task_id),
    )
    if not _recording():
        return report.id
    try:
        path = _report_path(task_id)
    except Exception as exc:
        _writer.warn("capture", exc)
        return report.id
    if path is None:
        _writer.warn(
            "report",
            EvidenceError(
                f"report_failure({task_id[:12]!r}): this process recorded no such task and no"
                f" theseus.toml is at or above {Path.cwd()}; the report was not recorded",
                hint="report from the agent's project folder, set THESEUS_EVIDENCE_DB, or"
                " use `theseus evidence report` / POST /tasks/{id}/reports",
            ),
        )
        return report.id
    _writer.write_report(path, report)
    return report.id


def _report_path(task_id: str) -> Path | None:
    """The store a report of ``task_id`` belongs in; None when nothing says which (then it is
    not written: a report made in another folder must not start a store of its own there)."""
    if _settings["store"] is not None or os.environ.get("THESEUS_EVIDENCE_DB"):
        return _store_path(None, DEFAULT_STORE)
    known = _writer.task_paths.get(task_id) or _writer.last_path
    if known is not None:
        return known
    found = project_for(str(Path.cwd()))
    if found is None:
        return None
    return _store_path(found[0], found[1])


def _reset_for_tests() -> None:
    """Close cached stores and forget per-process state (tests switch stores often)."""
    _writer.close_all()
    _writer.task_paths.clear()
    _writer.last_path = None
    _writer._warned.clear()
    _recent._tasks.clear()
    take_relayed()
    project_for.cache_clear()
    configure()
