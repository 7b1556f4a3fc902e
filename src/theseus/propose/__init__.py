"""propose stage: turn a failure batch into candidate patches.

Every proposer implements :class:`Proposer` (:mod:`.base`): it gets a
:class:`ProposalContext` (where the code is, what may change, what failed, what was tried,
how much it may spend) and yields candidates lazily, best first. Proposers register by name
(:mod:`.registry`); the built-in ones are the offline repair engine (:mod:`.repair`), a
model asked for a patch (:mod:`.llm`), a coding agent with tools (:mod:`.agent`) and any
external coding CLI (:mod:`.command`). Importing this package registers them.

Imports evidence, change and verify (the sandbox runs their commands), never gate,
lineage, runtime or evolve: whatever a proposer yields is checked by the stages after it.
"""

# Importing the built-in proposers' modules registers them (see .registry).
from theseus.propose.agent.proposer import AgentProposer
from theseus.propose.base import (
    Attempt,
    ProposalContext,
    Proposer,
    Rejected,
    SearchBudget,
    Spending,
    ValidationOutcome,
    Validator,
)
from theseus.propose.command import CommandProposer
from theseus.propose.llm.prompt import ACTUAL_KEY, actual_outputs
from theseus.propose.llm.proposer import LLMProposer
from theseus.propose.registry import (
    ENTRY_POINT_GROUP,
    ProposerFactory,
    RegisteredProposer,
    SharedResources,
    build_proposers,
    register_proposer,
    registered_proposers,
    search_seconds,
)
from theseus.propose.repair.proposer import RepairProposer, diff_key

__all__ = [
    "ACTUAL_KEY",
    "ENTRY_POINT_GROUP",
    "AgentProposer",
    "Attempt",
    "CommandProposer",
    "LLMProposer",
    "ProposalContext",
    "Proposer",
    "ProposerFactory",
    "RegisteredProposer",
    "Rejected",
    "RepairProposer",
    "SearchBudget",
    "SharedResources",
    "Spending",
    "ValidationOutcome",
    "Validator",
    "actual_outputs",
    "build_proposers",
    "diff_key",
    "register_proposer",
    "registered_proposers",
    "search_seconds",
]
