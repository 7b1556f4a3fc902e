"""The propose step of the cycle: a batch's replayed evidence as the repair engine's oracle.

The repair engine validates mutants with a shell test command. In the Theseus flow the
failing checks are the batch's recorded failures, so the cycle writes the batch's replay
module into a workspace at the live commit and hands the engine a pytest command running
that module first (it fails on the bug) and then the project's test folder (nothing else
may break). The verification stage re-checks whatever comes out in the sandbox anyway.

The same replay module, re-rooted, becomes the permanent regression test committed with a
fix, so a promoted fix can never silently come undone.
"""

from __future__ import annotations

import hashlib
import shlex
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from theseus.change import Candidate, Workspace, check_policy
from theseus.config import Settings
from theseus.errors import TheseusError
from theseus.evidence import EvidenceStore, FailureBatch
from theseus.paths import rules_from
from theseus.propose import ACTUAL_KEY, Attempt, ProposalContext, SearchBudget, actual_outputs
from theseus.verify import workspace_quota, write_replay_module

if TYPE_CHECKING:  # only named in annotations
    from theseus.lineage import Archive
    from theseus.propose import Proposer, Rejected, Spending

REGRESSION_DIR = "tests/theseus_regressions"
_REPLAY_ROOT = "_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))"
_REGRESSION_ROOT = (
    "_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))"
)


def oracle_folder(settings: Settings, root: Path) -> str:
    """The folder of the project's tests for the oracle command ('tests' when it exists)."""
    words = shlex.split(settings.tests.command)
    for word in reversed(words):
        if not word.startswith("-") and (root / word).exists() and word not in ("python",):
            return word
    return "tests" if (root / "tests").is_dir() else ""


def propose(
    batch: FailureBatch,
    settings: Settings,
    root: Path,
    base_commit: str,
    budget: SearchBudget,
    attempts: Sequence[Attempt],
    proposer: Proposer,
    *,
    spending: Spending | None = None,
    on_rejected: Callable[[Rejected], None] | None = None,
    notes: Callable[[str], None] | None = None,
) -> list[Candidate]:
    """Candidates from ``proposer`` for ``batch``, searched in a workspace at ``base_commit``.

    The proposer sees the batch without its held-out cases (:func:`shown_to_proposers`).
    """
    batch = shown_to_proposers(batch)
    with Workspace.create(root, base_commit, quota=workspace_quota(settings)) as ws:
        module = write_replay_module(batch.cases, ws.path, settings, batch.signature)
        target = oracle_folder(settings, ws.path)
        command = f"python -m pytest -q -p no:cacheprovider {module.relpath} {target}".strip()
        ctx = ProposalContext(
            root=ws.path,
            base_commit=base_commit,
            rules=rules_from(ws.path, settings.paths.mutable, settings.paths.protected),
            budget=budget,
            batch=batch,
            test_command=command,
            attempts=attempts,
            policy_check=lambda diff: check_policy(diff, settings, ws.path).ok,
            workers=settings.verify.workers,
            test_timeout=min(settings.tests.timeout, 60.0),
            spending=spending,
            on_rejected=on_rejected,
            notes=notes,
            extra=_observed(batch, settings) if proposer.name != "repair" else {},
            verified_after=True,  # the cycle's verification is the cold, confirming run
        )
        return list(proposer.propose(ctx))


def shown_to_proposers(batch: FailureBatch) -> FailureBatch:
    """The batch as proposers see it: its held-out cases (and their tasks) left out, so only
    verification knows them and a fix fitted to what it saw fails there."""
    if not batch.holdout:
        return batch
    hidden = set(batch.holdout)
    return batch.model_copy(
        update={
            "cases": [case for case in batch.cases if case.task_id not in hidden],
            "task_ids": [task for task in batch.task_ids if task not in hidden],
            "holdout": [],
        }
    )


def _observed(batch: FailureBatch, settings: Settings) -> dict[str, object]:
    """What the agent actually returned or raised for the batch's tasks, for a model's
    prompt (a wrong answer means little without the answer); empty when the store is gone."""
    try:
        with EvidenceStore(settings.evidence_path) as store:
            records = store.tasks_by_ids(batch.task_ids)
    except TheseusError:
        return {}
    return {ACTUAL_KEY: actual_outputs(records)}


def regression_test(batch: FailureBatch, settings: Settings) -> tuple[str, str]:
    """``(path, text)`` of the permanent regression test for a fixed batch."""
    with tempfile.TemporaryDirectory(prefix="theseus-regression-") as tmp:
        module = write_replay_module(batch.cases, Path(tmp), settings, batch.signature)
        text = module.path.read_text(encoding="utf-8")
    if _REPLAY_ROOT not in text:
        raise RuntimeError("the replay module template changed; update evolve.proposals")
    text = text.replace(_REPLAY_ROOT, _REGRESSION_ROOT)
    text = text.replace(
        "recorded failures replayed as tests. Do not edit.",
        f"regression test for failure signature {batch.signature} ({batch.title[:80]}).",
        1,
    )
    name = hashlib.sha256(batch.signature.encode()).hexdigest()[:10]
    return f"{REGRESSION_DIR}/test_{batch.signature[:24]}_{name}.py", text


def earlier_attempts(archive: Archive, signature: str) -> list[Attempt]:
    """Earlier candidates for ``signature``, with why each ended as it did (for proposers
    that can learn from them, such as a model told not to repeat a failed change)."""
    tried = []
    for c in archive.list(signature=signature):
        history = archive.history(c.id)
        reason = history[-1].reason if history else ""
        key = str(c.meta.get("attempt_key", c.id))
        tried.append(Attempt(key=key, outcome=c.status, reason=reason, diff=c.diff))
    return tried


def model_spending(meta: dict[str, object]) -> dict[str, object]:
    """The model accounting a proposer put on a candidate (tokens in/out, cost, model)."""
    keys = ("model", "input_tokens", "output_tokens", "cost_usd", "steps")
    return {k: meta[k] for k in keys if k in meta}
