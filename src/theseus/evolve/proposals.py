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
from collections.abc import Callable, Sequence
from pathlib import Path

from theseus.change import Workspace, check_policy
from theseus.change.candidate import Candidate
from theseus.config import Settings
from theseus.errors import TheseusError
from theseus.evidence.records import FailureBatch
from theseus.paths import rules_from
from theseus.propose.base import Attempt, Budget, ProposalContext, Proposer, Rejected, Spending
from theseus.propose.llm.client import ChatClient
from theseus.propose.repair.proposer import RepairProposer

REGRESSION_DIR = "tests/theseus_regressions"
_REPLAY_ROOT = "_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))"
_REGRESSION_ROOT = (
    "_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))"
)


def proposers(settings: Settings, note: Callable[[str], None]) -> list[Proposer]:
    """The configured proposers, in order; one note (and a skip) for each that cannot run.

    A model proposer whose key is missing, or a command whose program is not installed,
    must not stop evolution: the other proposers (the offline repair engine first) carry
    on, and the note says what to fix.
    """
    found: list[Proposer] = []
    client: ChatClient | None = None
    for name in settings.propose.proposers:
        try:
            if name == "repair":
                repair = settings.propose.repair
                found.append(
                    RepairProposer(
                        alternatives=repair.alternatives, top_locations=repair.top_locations
                    )
                )
            elif name in ("llm", "agent"):
                if client is None:
                    from theseus.propose.llm.providers import make_client

                    client = make_client(settings.propose.llm)
                found.append(_model_proposer(name, client, settings))
            elif name == "command":
                from theseus.propose.command import CommandProposer

                found.append(CommandProposer(settings))
        except TheseusError as exc:
            note(f"proposer {name!r} skipped: {exc.line()}")
    return found


def _model_proposer(name: str, client: ChatClient, settings: Settings) -> Proposer:
    if name == "llm":
        from theseus.propose.llm.proposer import LLMProposer

        return LLMProposer(client, settings)
    from theseus.propose.agent.proposer import AgentProposer

    return AgentProposer(client, settings)


def seconds_for(proposer: Proposer, settings: Settings) -> float:
    """How long one proposer may search for one batch (the cycle's budget caps it too)."""
    if proposer.name == "repair":
        return settings.propose.repair.max_seconds
    if proposer.name == "command":
        return settings.propose.command.timeout + 30.0
    llm = settings.propose.llm
    turns = settings.propose.agent.max_steps if proposer.name == "agent" else llm.samples
    return llm.timeout * (llm.max_retries + 1) * turns


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
    budget: Budget,
    attempts: Sequence[Attempt],
    proposer: Proposer,
    *,
    spending: Spending | None = None,
    on_rejected: Callable[[Rejected], None] | None = None,
    notes: Callable[[str], None] | None = None,
) -> list[Candidate]:
    """Candidates from ``proposer`` for ``batch``, searched in a workspace at ``base_commit``."""
    from theseus.verify.replay import write_replay_module

    with Workspace.create(root, base_commit) as ws:
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
        )
        return list(proposer.propose(ctx))


def _observed(batch: FailureBatch, settings: Settings) -> dict[str, object]:
    """What the agent actually returned or raised for the batch's tasks, for a model's
    prompt (a wrong answer means little without the answer); empty when the store is gone."""
    from theseus.evidence.store import EvidenceStore
    from theseus.propose.llm.prompt import ACTUAL_KEY, actual_outputs

    try:
        with EvidenceStore(settings.evidence_path) as store:
            records = store.tasks_by_ids(batch.task_ids)
    except TheseusError:
        return {}
    return {ACTUAL_KEY: actual_outputs(records)}


def regression_test(batch: FailureBatch, settings: Settings) -> tuple[str, str]:
    """``(path, text)`` of the permanent regression test for a fixed batch."""
    import tempfile

    from theseus.verify.replay import write_replay_module

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
