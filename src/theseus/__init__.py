"""Theseus: let a Python agent fix its own source code while it keeps serving, safely.

The agent-side SDK is two names::

    import theseus

    @theseus.task
    def handle(message, state): ...

    theseus.report_failure(task_id, kind="wrong_answer", expected=...)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "current_task_id", "report_failure", "task"]

if TYPE_CHECKING:
    from theseus.evidence.sdk import current_task_id, report_failure, task


def __getattr__(name: str) -> Any:
    # Imported lazily so `import theseus` stays cheap inside the agent's processes.
    if name in {"task", "report_failure", "current_task_id"}:
        from theseus.evidence import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'theseus' has no attribute {name!r}")
