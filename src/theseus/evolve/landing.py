"""Landing a fix: the approved candidate committed, hot-swapped, watched, reverted if worse.

The cycle decides *whether* a candidate lands (:mod:`.cycle`); this is *how*: one git commit
with the regression test built from its evidence, the signature marked fixed, the deploy
through the live service and its health verdict, and after a rollback the revert commit
that makes the branch match what is served again. Every step is an audit record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from theseus.change import Candidate
from theseus.config import Settings
from theseus.errors import GitError
from theseus.evidence import FailureBatch
from theseus.evolve.proposals import regression_test
from theseus.gate import CircuitBreaker, RegressionWatch
from theseus.lineage import Archive, AuditLog, promote, revert
from theseus.runtime import DeployVerdict, deploy_and_watch, load_admin_token
from theseus.verify import Verification

__all__ = ["Landing", "Promotion", "live_line"]


@dataclass(frozen=True)
class Promotion:
    """A candidate made a version: its commit and the regression test committed with it."""

    commit: str
    regression_test: str


class Landing:
    """Commits and deploys fixes for one cycle, with the cycle's archive, log and guards."""

    def __init__(
        self,
        settings: Settings,
        root: Path,
        archive: Archive,
        audit: AuditLog,
        watch: RegressionWatch,
        breaker: CircuitBreaker,
        progress: Any,
    ) -> None:
        self.settings, self.root = settings, root
        self.archive, self.audit = archive, audit
        self.watch, self.breaker = watch, breaker
        self.progress = progress

    def promote(
        self,
        candidate: Candidate,
        batch: FailureBatch,
        verification: Verification,
        url: str | None,
    ) -> Promotion:
        """Commit the approved candidate with its regression test; mark the signature fixed."""
        path, text = regression_test(batch, self.settings)
        commit = promote(
            self.root,
            candidate,
            extra_files={path: text},
            scores=verification.scores(),
            audit_head=self.audit.head(),
            branch=self.settings.lineage.branch,
        )
        self.archive.set_status(candidate.id, "promoted", f"commit {commit[:12]}", actor="theseus")
        self.watch.mark_fixed(batch.signature, candidate.id)
        self.audit.append(
            "deploy",
            {"candidate": candidate.id, "commit": commit, "regression_test": path,
             "live": url},
        )  # fmt: skip
        self.progress(f"{batch.signature}: promoted as {commit[:12]}")
        return Promotion(commit=commit, regression_test=path)

    def deploy(
        self, candidate: Candidate, batch: FailureBatch, promotion: Promotion, url: str
    ) -> DeployVerdict:
        """Hot-swap the promoted commit into the live service at ``url`` and wait for its
        health verdict; after a rollback, revert the commit so the branch matches what is
        served."""
        verdict = deploy_and_watch(
            url,
            promotion.commit,
            health_window=self.settings.runtime.health_window,
            token=load_admin_token(self.settings),
        )
        self.audit.append("health", {"candidate": candidate.id, **verdict.as_json()})
        if not verdict.rolled_back:
            self.watch.went_live(batch.signature)
            return verdict
        why = verdict.reason or "health watch"
        self.archive.set_status(candidate.id, "rolled_back", why, actor="runtime")
        record: dict[str, Any] = {"candidate": candidate.id, "commit": promotion.commit,
                                  "reason": why}  # fmt: skip
        try:
            record["revert"] = revert(
                self.root, promotion.commit, why, branch=self.settings.lineage.branch
            )
        except GitError as exc:
            record["revert_error"] = exc.line()
            self.progress(f"{batch.signature}: {exc.line()}")
        self.audit.append("rollback", record)
        self.breaker.record_rollback(candidate.id, "health watch")
        self.watch.forget(batch.signature)
        return verdict


def live_line(verdict: DeployVerdict, url: str) -> str:
    """What became of a promoted commit in the live service, in words."""
    if verdict.verdict == "healthy":
        return f"deployed live at {url}, healthy after its health watch"
    if verdict.rolled_back:
        return f"deployed at {url}, rolled back: {verdict.reason or 'health watch'}"
    return f"committed; the deploy to {url} failed: {verdict.reason or 'no answer'}"
