"""The built-in coding agent: a model with file and shell tools in a throwaway copy.

Where the ``llm`` proposer asks a model for an answer in one go, the agent lets it look
around, edit, run the tests and try again, the way a person fixes a bug. Its tools
(:mod:`.tools`, with :mod:`.workspace` for what crosses the copy's edge) are confined to the copy and run commands in the no-network sandbox; the
loop (:mod:`.proposer`) stops at the step, token, time or money limit and hands on the
copy's diff only once the recorded failures and the project's tests pass.
"""

from __future__ import annotations

from theseus.propose.agent.tools import TOOL_SPECS, AgentTools, ToolResult
from theseus.propose.agent.workspace import restore_outside_mutable

__all__ = ["TOOL_SPECS", "AgentTools", "ToolResult", "restore_outside_mutable"]
