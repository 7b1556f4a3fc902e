"""change stage: candidates, the patch formats they arrive in, their workspaces, and policy.

``from theseus.change import apply_patch, make_diff, check_policy, Workspace`` covers the
common path: turn a proposer's edit into a diff, check it, apply it in a workspace.
The libcst-based definition edits load on first use (libcst is slow to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from theseus.change.apply import ApplyResult, HunkOffset, Patched, apply_patch, patched_texts
from theseus.change.candidate import Candidate, CandidateStatus, candidate_id
from theseus.change.diffs import diff_texts, make_diff
from theseus.change.edits import EditBlock, apply_edits, edits_to_diff, parse_edits
from theseus.change.patch import FilePatch, Hunk, changed_files, changed_line_count, parse_patch
from theseus.change.policy import (
    PERSONAL_PATTERNS,
    SECRET_PATTERNS,
    Capability,
    PolicyReport,
    Violation,
)
from theseus.change.policy import check as check_policy
from theseus.change.workspace import (
    WORKING_TREE,
    Workspace,
    current_commit,
    is_git_repo,
    reap_stale_workspaces,
)

if TYPE_CHECKING:
    from theseus.change.definitions import (
        DefinitionEdit,
        apply_definitions,
        definitions_to_diff,
        replace_definition,
    )

_LAZY = {"DefinitionEdit", "apply_definitions", "definitions_to_diff", "replace_definition"}

__all__ = [
    "PERSONAL_PATTERNS",
    "SECRET_PATTERNS",
    "WORKING_TREE",
    "ApplyResult",
    "Candidate",
    "CandidateStatus",
    "Capability",
    "DefinitionEdit",
    "EditBlock",
    "FilePatch",
    "Hunk",
    "HunkOffset",
    "Patched",
    "PolicyReport",
    "Violation",
    "Workspace",
    "apply_definitions",
    "apply_edits",
    "apply_patch",
    "candidate_id",
    "changed_files",
    "changed_line_count",
    "check_policy",
    "current_commit",
    "definitions_to_diff",
    "diff_texts",
    "edits_to_diff",
    "is_git_repo",
    "make_diff",
    "parse_edits",
    "parse_patch",
    "patched_texts",
    "reap_stale_workspaces",
    "replace_definition",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from theseus.change import definitions

        return getattr(definitions, name)
    raise AttributeError(f"module 'theseus.change' has no attribute {name!r}")
