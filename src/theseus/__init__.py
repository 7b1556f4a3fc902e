"""Theseus: let a Python agent fix its own source code while it keeps serving, safely.

The agent-side SDK is a few names::

    import theseus

    @theseus.task
    def handle(message, state): ...

    theseus.report_failure(task_id, kind="wrong_answer", expected=theseus.partial({...}))

and ``@theseus.tool`` for the functions whose calls (with the model and HTTP calls the SDK
records by itself) replay must serve from the recording instead of running them again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "__version__",
    "anything",
    "approx",
    "contains",
    "current_task_id",
    "partial",
    "predicate",
    "regex",
    "report_failure",
    "schema",
    "task",
    "tool",
]
_MATCHERS = {"anything", "approx", "contains", "partial", "predicate", "regex", "schema"}

if TYPE_CHECKING:
    from theseus.evidence.calls.tools import tool
    from theseus.evidence.sdk import current_task_id, report_failure, task
    from theseus.oracles import anything, approx, contains, partial, predicate, regex, schema


def __getattr__(name: str) -> Any:
    # Imported lazily so `import theseus` stays cheap inside the agent's processes.
    if name in {"task", "report_failure", "current_task_id"}:
        from theseus.evidence import sdk

        return getattr(sdk, name)
    if name in _MATCHERS:  # expected values for report_failure: theseus.partial({...}), ...
        from theseus import oracles

        return getattr(oracles, name)
    if name == "tool":
        from theseus.evidence.calls.tools import tool

        return tool
    raise AttributeError(f"module 'theseus' has no attribute {name!r}")
