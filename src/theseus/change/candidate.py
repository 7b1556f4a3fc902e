"""A candidate: base commit + unified diff + the batch it targets + who proposed it and why.

Every proposer, whatever it is (search-based repair, an LLM, a coding agent, an external
CLI), ends in this one shape, so policy, verification, the gate and lineage never need to
know where a change came from.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CandidateStatus = Literal[
    "proposed",  # made by a proposer, not yet checked
    "rejected_policy",  # failed a policy rule; never ran
    "invalid",  # patch malformed or does not apply
    "failed",  # ran in the sandbox, did not fix enough or regressed
    "verified",  # passed verification; waiting for the gate
    "approved",  # gate said yes; about to deploy
    "rejected",  # gate (or a person) said no
    "promoted",  # live: a git commit on the agent's repository
    "rolled_back",  # was live, health watch or a person rolled it back
]


def candidate_id(base_commit: str, diff: str) -> str:
    """Content address: the same change on the same base is the same candidate."""
    return hashlib.sha256(f"{base_commit}\0{diff}".encode()).hexdigest()[:12]


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    base_commit: str
    diff: str = Field(description="unified diff with a/ and b/ paths relative to the root")
    signature: str | None = Field(default=None, description="failure batch it targets")
    proposer: str
    rationale: str = ""
    parent_id: str | None = None
    created_at: float = Field(default_factory=time.time)
    status: CandidateStatus = "proposed"
    meta: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        base_commit: str,
        diff: str,
        proposer: str,
        signature: str | None = None,
        rationale: str = "",
        parent_id: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Candidate:
        return cls(
            id=candidate_id(base_commit, diff),
            base_commit=base_commit,
            diff=diff,
            proposer=proposer,
            signature=signature,
            rationale=rationale,
            parent_id=parent_id,
            meta=meta or {},
        )
