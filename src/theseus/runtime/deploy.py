"""Hot swap, health watch and rollback, driven on a running :class:`Supervisor`.

``deploy`` starts and warms the new version's workers beside the old ones, optionally gives
a canary share of new sessions to it, then cuts over with one routing assignment. Requests
already in flight finish on the version they started on, and each session moves (migrating
its state once) at its next message. The old version stays warm through the health window;
if the new one regresses against the old one's baseline, or crashes past its restart
intensity, traffic goes back at once. The gate calls :func:`deploy` as a library function;
``theseus deploy`` reaches the same function through the service's HTTP API.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from theseus.runtime.failures import DeployFailed, UnknownVersion
from theseus.runtime.health import Sample, assess
from theseus.runtime.supervisor import Supervisor, Watch
from theseus.runtime.versions import materialise, resolve_commit

POLL_S = 0.02
EXTEND = 5


async def deploy(sup: Supervisor, ref: str, *, canary_share: float | None = None) -> dict[str, Any]:
    """Swap the live service to ``ref``; returns timings. DeployFailed leaves traffic as it was."""
    async with sup.deploy_lock:
        assert sup.router is not None
        commit = resolve_commit(sup.settings.root, ref)
        if commit == sup.router.current:
            raise DeployFailed(f"{commit[:12]} is already the live version")
        began = time.perf_counter()
        sup.events.emit("deploy", {"event": "start", "version": commit, "from": sup.router.current})
        try:
            spec = await asyncio.to_thread(materialise, sup.settings, commit)
            pool = await sup.start_pool(spec)
        except DeployFailed as exc:
            sup.events.emit("deploy", {"event": "failed", "version": commit, "error": exc.line()})
            raise
        warm = time.perf_counter()
        sup.router.failed.discard(commit)
        old = sup.router.current
        window = sup.runtime.health_window
        baseline = sup.stats[old].sample(since=time.monotonic() - max(window, 60.0))
        share = sup.runtime.canary_share if canary_share is None else canary_share
        report: dict[str, Any] = {
            "version": commit,
            "previous": old,
            "warm_ms": (warm - began) * 1000.0,
            "forked": pool.forked,  # from a warm parent (runtime/warm.py), not spawned cold
            "canary_share": share,
        }
        if share > 0:
            passed = await _canary(sup, commit, old, share, baseline)
            report["canary"] = "passed" if passed else "rolled back"
            if not passed:
                report["rolled_back"] = True
                return report
            warm = time.perf_counter()  # the canary phase is not part of the cut-over
        if commit in sup.router.failed:  # crashed past its intensity while warming
            raise DeployFailed(f"{commit[:12]} failed while warming; traffic stays on {old[:12]}")
        switch = time.perf_counter()
        sup.router.cut_over(commit)
        done = time.perf_counter()
        now = time.monotonic()
        sup.watch = Watch(commit, old, since=now, until=now + window)
        report.update(
            {
                "cutover_ms": (done - warm) * 1000.0,
                "switch_us": (done - switch) * 1e6,
                "deploy_to_cutover_ms": (done - began) * 1000.0,
                "at": time.time(),
                "event": "cut_over",
                "rolled_back": False,
            }
        )
        sup.deploy_history.append(report)
        sup.events.emit("deploy", report)
        sup.spawn(_health_watch(sup, commit, old, baseline))
        return report


async def _canary(sup: Supervisor, commit: str, old: str, share: float, baseline: Sample) -> bool:
    """Give ``share`` of new sessions to ``commit`` until it has enough samples or half the
    health window passed; False when it regressed (and was rolled back)."""
    assert sup.router is not None
    sup.router.start_canary(commit, share)
    now = time.monotonic()
    sup.watch = Watch(commit, old, since=now, until=now + sup.runtime.health_window / 2)
    while time.monotonic() < sup.watch.until:
        if commit in sup.router.failed:
            return False
        verdict = _verdict(sup, baseline, sup.stats[commit].sample(since=now))
        if verdict.regressed:
            sup.roll_back_now(commit, old, "canary regressed: " + "; ".join(verdict.reasons))
            return False
        if verdict.decided:
            break
        await asyncio.sleep(POLL_S)
    return commit not in sup.router.failed


def _verdict(sup: Supervisor, baseline: Sample, candidate: Sample) -> Any:
    rt = sup.runtime
    return assess(
        baseline,
        candidate,
        min_samples=rt.health_min_samples,
        max_error_rate_increase=rt.max_error_rate_increase,
        max_p95_ratio=rt.max_p95_ratio,
        latency_floor_ms=rt.latency_floor_ms,
    )


async def _health_watch(sup: Supervisor, commit: str, old: str, baseline: Sample) -> None:
    """Watch ``commit`` through the health window; roll back the moment it regresses."""
    watch = sup.watch
    assert watch is not None and sup.router is not None
    verdict = None
    # An undecided window (too few calls) is extended, up to EXTEND x the window: a version
    # is not called healthy on too little evidence while its predecessor is still warm.
    hard_stop = watch.until + (EXTEND - 1) * (watch.until - watch.since)
    while not sup.closing:
        now = time.monotonic()
        if now >= hard_stop or (now >= watch.until and verdict is not None and verdict.decided):
            break
        if sup.watch is not watch or sup.router.current != commit:
            return  # rolled back (restart intensity, by hand) or superseded
        verdict = _verdict(sup, baseline, sup.stats[commit].sample(since=watch.since))
        if verdict.regressed:
            sup.roll_back_now(commit, old, "health regression: " + "; ".join(verdict.reasons))
            return
        await asyncio.sleep(POLL_S)
    if sup.watch is not watch:
        return
    sup.watch = None
    sample = sup.stats[commit].sample(since=watch.since)
    sup.events.emit(
        "health",
        {
            "event": "healthy",
            "version": commit,
            "decided": bool(verdict and verdict.decided),
            "sample": sample.as_dict(),
            "baseline": baseline.as_dict(),
        },
    )
    pool = sup.pools.get(old)
    keep = sup.sessions.pinned_to(old) > 0 or not (verdict and verdict.decided)
    if pool is not None and not pool.closed and not keep:
        await pool.drain_and_close(sup.runtime.call_timeout)


async def rollback(sup: Supervisor, version: str | None = None) -> dict[str, Any]:
    """By hand: send traffic to ``version`` (default: the previous one), restarting its
    workers if they were stopped, and mark the version it replaces as failed."""
    async with sup.deploy_lock:
        router = sup.router
        assert router is not None
        if version is None:
            if router.previous is None:
                raise UnknownVersion(
                    "there is no previous version to roll back to",
                    hint="pass a commit: `theseus rollback COMMIT`",
                )
            target = router.previous
        else:
            try:
                target = resolve_commit(sup.settings.root, version)
            except Exception as exc:
                raise UnknownVersion(str(exc)) from None
        if target == router.current:
            raise DeployFailed(f"{target[:12]} is already the live version")
        if not sup.alive(target):
            spec = await asyncio.to_thread(materialise, sup.settings, target)
            await sup.start_pool(spec)
        router.failed.discard(target)
        return sup.roll_back_now(router.current, target, "rolled back by hand", automatic=False)
