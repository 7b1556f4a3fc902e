"""The supervisor: protected core that owns routing, sessions, versions, health and rollback.

Agent code never runs here; it runs in worker pools, one pool per version. The supervisor
takes each message, routes it by session, hands the worker the session's state and stores
the state the worker hands back. A crashed worker's in-flight message is retried once on a
healthy worker when the task is idempotent, else failed clearly and recorded as evidence.
Deploy and the health watch live in :mod:`theseus.runtime.deploy`; this module is what they
drive; :mod:`theseus.runtime.views` is what it shows. Each attempt at a message gets a task
id here: the worker's SDK records the agent's call under it, so do this module's crash and
timeout records, and the caller gets it back to report a wrong answer against.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from theseus.config import Settings
from theseus.evidence.recorder import RELAY_ENV
from theseus.runtime import events
from theseus.runtime.failures import (
    AgentError,
    BadRequest,
    CallTimedOut,
    DeployFailed,
    ServiceError,
    Unavailable,
    WorkerCrashed,
)
from theseus.runtime.health import VersionStats, own_time
from theseus.runtime.isolation import worker_profile
from theseus.runtime.pool import RestartIntensity, VersionPool, worker_env
from theseus.runtime.relay import EvidenceRelay
from theseus.runtime.router import Route, Router
from theseus.runtime.sessions import Session, SessionStore
from theseus.runtime.spares import Spares
from theseus.runtime.versions import VersionSpec, materialise, resolve_commit

SESSION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
EventSink = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True)
class CallResult:
    reply: Any
    version: str
    migrated: bool
    session: str
    task_id: str | None = None  # the evidence id the agent's call was recorded under


@dataclass
class Watch:
    """A version on probation: in its canary phase or its health window."""

    version: str
    previous: str
    since: float
    until: float


class Supervisor:
    """Routes messages to versioned worker pools and keeps every session's state."""

    def __init__(
        self,
        settings: Settings,
        *,
        on_event: EventSink | None = None,
        evidence: events.EvidenceSink | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.runtime = settings.runtime
        self.sessions = SessionStore(settings.state_dir / "sessions.db")
        self.events = events.EventLog(on_event)
        self.evidence = evidence if evidence is not None else events.store_sink(settings)
        self.profile = worker_profile(settings)  # ConfigError here: before anything starts
        self.relay = EvidenceRelay(settings.evidence_path)
        self.pools: dict[str, VersionPool] = {}
        self.retired: list[VersionPool] = []  # replaced while draining; closed at close()
        self.stats: dict[str, VersionStats] = defaultdict(VersionStats)
        self.counters: dict[str, int] = defaultdict(int)
        self.router: Router | None = None
        self.watch: Watch | None = None
        self.deploy_lock = asyncio.Lock()
        self.closing = False
        self.started_at = time.time()
        self.deploy_history: deque[dict[str, Any]] = deque(maxlen=50)
        self._base_env = dict(os.environ if env is None else env)
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.spares = Spares(
            enabled=self.runtime.warm_deploys,
            store=settings.state_dir / "versions",
            log=settings.state_dir / "logs" / "warm-parent.log",
            env=lambda: worker_env(None, self._base_env, self._worker_extra()),
            profile=self.profile,
            spawn=self.spawn,
            emit=self.events.emit,
        )

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, ref: str = "HEAD") -> str:
        """Materialise ``ref``, start and warm its workers, and serve it."""
        commit = resolve_commit(self.settings.root, ref)
        pool = await self.start_pool(await asyncio.to_thread(materialise, self.settings, commit))
        self.router = Router(pool.version)
        self.events.emit("deploy", {"event": "serve", "version": commit})
        return commit

    async def close(self) -> None:
        """Stop every worker and close the session store; nothing is left running."""
        self.closing = True
        spare = self.spares.pending
        for task in list(self._tasks):
            if task is not spare:
                task.cancel()
        await self.spares.close()
        pools = [*self.pools.values(), *self.retired]
        await asyncio.gather(*(p.close() for p in pools), return_exceptions=True)
        self.pools.clear()
        self.retired.clear()
        self.sessions.close()
        self.relay.close()

    async def start_pool(self, spec: VersionSpec) -> VersionPool:
        """A warm pool for ``spec`` (reused if one is already serving)."""
        existing = self.pools.get(spec.commit)
        if existing is not None and existing.serving:
            return existing
        if existing is not None and not existing.closed:
            self.retired.append(existing)  # still draining: closed by its drain, or at close()
        parent = await self.spares.take()
        if parent is not None:
            try:
                spec = await parent.assign(spec)
            except DeployFailed:
                await parent.close()
                parent = None
        pool = VersionPool(
            spec,
            size=self.runtime.workers_per_version,
            env=worker_env(spec, self._base_env, self._worker_extra()),
            intensity=RestartIntensity(self.runtime.restart_intensity, self.runtime.restart_period),
            call_timeout=self.runtime.call_timeout,
            on_restart=self._worker_restarted,
            on_failed=self._version_failed,
            log=self.settings.state_dir / "logs" / f"worker-{spec.short}.log",
            profile=self.profile,
            parent=parent,
        )
        try:
            await pool.start()
        finally:  # the next deploy's spare, preloading what this version imported
            self.spares.prepare(next((w.imported for w in pool.workers if w.imported), None))
        self.pools[spec.commit] = pool
        return pool

    def _worker_extra(self) -> dict[str, str]:
        return {
            RELAY_ENV: "1",  # records come back with each answer: see runtime/relay.py
            "PYTHONPYCACHEPREFIX": str(self.settings.state_dir / "pycache"),
        }

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- messages -------------------------------------------------------------------------

    def check_session_id(self, session_id: str) -> None:
        """BadRequest unless ``session_id`` is a valid session id."""
        if not SESSION_ID.match(session_id):
            raise BadRequest(
                f"session id {session_id[:40]!r} is not valid",
                hint="use 1-128 characters from letters, digits and . _ : -",
            )

    async def handle(self, session_id: str, message: Any) -> CallResult:
        """Answer one message of one session; messages of a session run in order."""
        self.check_session_id(session_id)
        if self.closing or self.router is None:
            raise Unavailable("the service is not serving", hint="wait for it to start")
        async with self.sessions.lock(session_id):
            session = self.sessions.get_or_new(session_id)
            route = self.router.route(session_id, session.version, session.pinned, self.alive)
            return await self._run(session, message, route, retried=False)

    def alive(self, version: str) -> bool:
        pool = self.pools.get(version)
        return pool is not None and pool.serving

    async def _run(
        self, session: Session, message: Any, route: Route, *, retried: bool
    ) -> CallResult:
        pool = self.pools.get(route.version)
        if pool is None or not pool.serving:
            if retried:
                raise Unavailable(f"version {route.version[:12]} is not serving")
            return await self._reroute(session, message)
        version, task_id = route.version, uuid.uuid4().hex
        if route.migrate_from is not None and session.returns_to(route.version, pool.spec.migrate):
            restored = session.base_state or {}
            session = replace(session, state=restored, base_state=None, base_version=None)
            route = Route(route.version)
            self.counters["sessions_restored"] += 1
            self.events.emit(
                "deploy", {"event": "session_restored", "session": session.id, "to": version}
            )
        request = {
            "op": "call",
            "id": next(self._ids),
            "task_id": task_id,
            "session": session.id,
            "message": message,
            "state": session.state,
            "version": route.version,
            "migrate_from": route.migrate_from,
        }
        started = time.perf_counter()
        stats = self.stats[route.version]
        try:
            response = await pool.call(request)
        except Unavailable:
            if retried:
                raise
            return await self._reroute(session, message)  # never sent: safe to send elsewhere
        except WorkerCrashed as exc:
            can_retry = pool.idempotent and not retried
            stats.add(ok=can_retry, task_ok=False, latency_ms=_ms(started))
            if can_retry:
                self.counters["retries"] += 1
                target = self._retry_target(route.version)
                origin = session.version
                retry = Route(target, None if origin in (None, target) else origin)
                return await self._run(session, message, retry, retried=True)
            self.counters["failed_crash"] += 1
            self._record(session, message, version, "WorkerCrashed", exc.message, started, task_id)
            raise WorkerCrashed(
                f"{exc.message} while answering this message; it was not retried because the"
                " task is not marked idempotent",
                hint="send the message again, or mark the task @theseus.task(idempotent=True)",
                detail={"version": version, "task_id": task_id},
            ) from None
        except CallTimedOut as exc:
            stats.add(ok=False, task_ok=False, latency_ms=_ms(started))
            self._record(session, message, version, "CallTimedOut", exc.message, started, task_id)
            detail = {"version": version, "task_id": task_id}
            raise CallTimedOut(exc.message, hint=exc.hint, detail=detail) from None
        await self.relay.write(response.get("evidence"), version=route.version)
        if not response.get("ok"):
            return await self._failed(session, message, route, response, started, retried, task_id)
        stats.add(
            ok=True,
            task_ok=True,
            latency_ms=_ms(started),
            own_ms=own_time(response, self.runtime.health_warmup_calls),
        )
        updated = replace(
            session,
            state=response.get("state") or {},
            version=route.version,
            messages=session.messages + 1,
        )
        if route.migrate_from is not None:
            # Only a migrate hook can change the state's shape; without one the state moved
            # as it was, and there is nothing to restore should the session go back.
            reshaped = bool(response.get("migrated"))
            updated.base_version = route.migrate_from
            updated.base_state = session.state if reshaped else None
            updated.pinned = False
            self.counters["sessions_migrated"] += 1
        await self.sessions.save(updated)
        migrated = route.migrate_from is not None
        taken = response.get("task_id")
        return CallResult(response.get("reply"), route.version, migrated, session.id, taken)

    async def _reroute(self, session: Session, message: Any) -> CallResult:
        assert self.router is not None
        route = self.router.route(session.id, session.version, session.pinned, self.alive)
        return await self._run(session, message, route, retried=True)

    def _retry_target(self, crashed: str) -> str:
        """A healthy version for a retry: the last good one while ``crashed`` is on probation."""
        assert self.router is not None
        watch = self.watch
        if watch is not None and watch.version == crashed and self.alive(watch.previous):
            return watch.previous
        if crashed in self.router.failed or not self.alive(crashed):
            return self.router.current
        return crashed

    async def _failed(
        self,
        session: Session,
        message: Any,
        route: Route,
        response: dict[str, Any],
        started: float,
        retried: bool,
        task_id: str,
    ) -> CallResult:
        error = response.get("error") or {}
        stats = self.stats[route.version]
        if response.get("phase") != "migrate" or route.migrate_from is None:
            stats.add(ok=False, task_ok=False, latency_ms=_ms(started))
            detail = {"version": route.version, "task_id": response.get("task_id")}
            detail.update(error_type=error.get("type"), error_message=error.get("message"))
            raise AgentError(
                f"the agent raised {error.get('type')}: {error.get('message')}", detail=detail
            )
        # A failed migration keeps the session where it was; the message is answered there.
        stats.add(ok=True, task_ok=False, latency_ms=_ms(started))
        self.counters["migration_failures"] += 1
        kind, text, origin = str(error.get("type")), str(error.get("message")), route.migrate_from
        self._record(session, message, route.version, kind, text, started, task_id, origin)
        self.events.emit(
            "deploy",
            {
                "event": "migration_failed",
                "session": session.id,
                "from": route.migrate_from,
                "to": route.version,
                "error": f"{kind}: {text}",
            },
        )
        if session.base_version == route.version and session.base_state is not None:
            restored = replace(
                session,
                state=session.base_state,
                version=route.version,
                base_state=None,
                base_version=None,
            )
            return await self._run(restored, message, Route(route.version), retried=True)
        if not retried and self.alive(route.migrate_from):
            pinned = replace(session, pinned=True)
            await self.sessions.save(pinned)
            return await self._run(pinned, message, Route(route.migrate_from), retried=True)
        raise ServiceError(
            f"session {session.id} cannot move from {route.migrate_from[:12]} to"
            f" {route.version[:12]}: migrate raised {error.get('type')}",
            hint="fix the agent's migrate hook; the session's state is kept unchanged",
            detail={"version": route.version, "task_id": task_id},
        )

    def _record(
        self,
        session: Session,
        message: Any,
        version: str,
        kind: str,
        text: str,
        started: float,
        task_id: str,
        migrate_from: str | None = None,
    ) -> None:
        """Evidence of a call the agent could not answer, under the attempt's task id."""
        spec = self.pools[version].spec if version in self.pools else None
        sink = self.evidence
        events.record_failure(
            lambda record: sink(record.model_copy(update={"id": task_id})),
            function=spec.entrypoint if spec else self.settings.agent.entrypoint,
            session_id=session.id,
            args=[message, session.state],
            version=version,
            error_type=f"theseus.runtime.{kind}" if "." not in kind else kind,
            message=text if migrate_from is None else f"migrate from {migrate_from[:12]}: {text}",
            started=started,
        )

    # -- crashes and rollback -------------------------------------------------------------

    def _worker_restarted(self, pool: VersionPool) -> None:
        self.stats[pool.version].restarts += 1
        self.counters["worker_restarts"] += 1
        self.events.emit("health", {"event": "worker_restarted", "version": pool.version})

    def _version_failed(self, pool: VersionPool) -> None:
        """Restart intensity exceeded: the version is failed; traffic returns at once."""
        self.events.emit(
            "health",
            {
                "event": "restart_intensity_exceeded",
                "version": pool.version,
                "limit": f"{self.runtime.restart_intensity} in {self.runtime.restart_period:g}s",
            },
        )
        router = self.router
        if router is None or self.closing:
            return
        if pool.version in (router.current, router.canary):
            target = router.previous if router.current == pool.version else router.current
            if target is not None and self.alive(target):
                self.roll_back_now(pool.version, target, "restart intensity exceeded")
            elif target is not None:
                self.spawn(self._restore_and_roll_back(pool.version, target))

    async def _restore_and_roll_back(self, failed: str, target: str) -> None:
        """The last good version's workers were stopped after its health window: start them
        again, then route back (rollback stays a routing change once they are warm)."""
        spec = await asyncio.to_thread(materialise, self.settings, target)
        await self.start_pool(spec)
        self.roll_back_now(failed, target, "restart intensity exceeded")

    def roll_back_now(
        self, failed: str, to: str, reason: str, *, automatic: bool = True
    ) -> dict[str, Any]:
        """The routing change itself (synchronous, so nothing is routed half-way), then the
        follow-up: evidence against ``failed``, the audit event, draining its workers."""
        assert self.router is not None
        detected = time.perf_counter()
        self.router.roll_back(failed, to)
        switched = time.perf_counter()
        if self.watch is not None and self.watch.version == failed:
            self.watch = None
        self.counters["rollbacks"] += 1
        self.counters["automatic_rollbacks" if automatic else "manual_rollbacks"] += 1
        report = {
            "event": "rollback",
            "from": failed,
            "to": to,
            "reason": reason,
            "automatic": automatic,
            "rollback_ms": (switched - detected) * 1000.0,
            "at": time.time(),
        }
        self.deploy_history.append(report)
        self.events.emit("rollback", report)
        events.record_failure(
            self.evidence,
            function=self.pools[failed].spec.entrypoint
            if failed in self.pools
            else self.settings.agent.entrypoint,
            session_id=None,
            args=[],
            version=failed,
            error_type="theseus.runtime.RolledBack",
            message=f"version {failed[:12]} rolled back to {to[:12]}: {reason}",
            started=detected,
        )
        pool = self.pools.get(failed)
        if pool is not None and not pool.closed:
            self.spawn(pool.drain_and_close(self.runtime.call_timeout))
        return report


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
