"""The repair engine behind the shared :class:`~theseus.propose.base.Proposer` interface.

In the Theseus flow the evolve cycle hands over a context with the project's test command
(which includes the replayed evidence as tests), the batch's traceback frames, the
policy check and the record of earlier attempts; this proposer searches and yields the
validated fixes as candidates, smallest first, skipping any diff tried before for the
same signature. When the context carries a validator (the verification stage's cheap
check), every fix must pass it too before it is yielded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from theseus.change.candidate import Candidate
from theseus.config import Settings
from theseus.errors import RepairInputError
from theseus.propose.base import ProposalContext, Proposer
from theseus.propose.registry import SharedResources, register_proposer
from theseus.propose.repair.engine import RepairOptions, repair


def diff_key(diff: str) -> str:
    """The key an attempt is remembered by: a hash of its diff."""
    return hashlib.sha256(diff.encode()).hexdigest()[:16]


class RepairProposer:
    """Search-based program repair: no LLM, offline, deterministic."""

    name = "repair"
    offline = True  # costs only CPU: the cycle may search ahead with it (evolve/lookahead.py)

    def __init__(
        self, *, alternatives: int = 3, top_locations: int = 20, forked: bool = True
    ) -> None:
        self.alternatives = alternatives
        self.top_locations = top_locations
        self.forked = forked

    def propose(self, ctx: ProposalContext) -> Iterator[Candidate]:
        if ctx.test_command is None:
            raise RepairInputError(
                "the repair proposer needs a test command to validate mutants",
                hint="set [tests] command in theseus.toml",
            )
        frames = []
        if ctx.batch is not None and ctx.batch.frames:
            frames.append([(f.file, f.line, f.function) for f in ctx.batch.frames])
        options = RepairOptions(
            test_command=ctx.test_command,
            mutable=list(ctx.rules.mutable),
            protected=list(ctx.rules.protected),
            timeout=ctx.budget.seconds_left(),
            workers=ctx.workers,
            max_candidates=ctx.budget.max_candidates,
            top_locations=self.top_locations,
            alternatives=self.alternatives,
            test_timeout=ctx.test_timeout,
            policy_check=ctx.policy_check,
            extra_frames=frames,
            forked=self.forked,
            confirm_forked=not ctx.verified_after,
        )
        result = repair(ctx.root, options)
        for note in result.notes:
            if ctx.notes is not None:
                ctx.notes(f"repair: {note}; trials ran cold")
        diffs = [result.diff, *result.alternatives] if result.fix is not None else []
        for diff in diffs:
            if ctx.already_tried(diff_key(diff)):
                continue
            if ctx.validator is not None and not ctx.validator.validate(diff).passed:
                continue
            yield Candidate.create(
                base_commit=ctx.base_commit,
                diff=diff,
                proposer=self.name,
                signature=ctx.batch.signature if ctx.batch else None,
                rationale=result.description if diff == result.diff else "alternative fix",
                meta={
                    "operator": result.operator,
                    "candidates_tried": result.candidates_tried,
                    "seconds": round(result.seconds, 3),
                    "phases": {k: round(v, 3) for k, v in result.phases.items()},
                    "attempt_key": diff_key(diff),
                },
            )


@register_proposer("repair", seconds=lambda settings: settings.propose.repair.max_seconds)
def _repair(settings: Settings, shared: SharedResources) -> Proposer:
    repair = settings.propose.repair
    return RepairProposer(
        alternatives=repair.alternatives,
        top_locations=repair.top_locations,
        forked=repair.forked_trials,
    )
