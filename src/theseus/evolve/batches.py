"""The failure batches as everyone sees them: the cycle, `evidence list`, `evidence show`.

Curation alone groups wrong answers by (kind, entrypoint); split by where each run went
(:func:`theseus.verify.execution_paths`) they group by cause. Signatures are how a person
parks a batch and how the cycle remembers what it fixed, so every reader must compute them
the same way: this is that one way.
"""

from __future__ import annotations

from collections.abc import Callable

from theseus.config import Settings
from theseus.evidence import EvidenceStore, FailureBatch, curate
from theseus.verify import execution_paths

__all__ = ["current_batches", "work_order"]


def current_batches(
    settings: Settings,
    *,
    min_severity: str | None = None,
    since: float | None = None,
    code_version: str | None = None,
    note: Callable[[str], None] | None = None,
) -> list[FailureBatch]:
    """The project's failure batches, wrong answers split by execution path (see module)."""
    with EvidenceStore(settings.evidence_path) as store:
        paths = execution_paths(store, settings, note=note)
        return curate(
            store,
            settings,
            min_severity=min_severity,
            since=since,
            code_version=code_version,
            paths=paths,
        )


def work_order(batches: list[FailureBatch]) -> list[FailureBatch]:
    """The order a cycle works in: crashes traced into mutable code first, then the rest,
    each group by the curator's frequency x severity score.

    A trace into mutable code localises the fault to a few lines, so such a batch is usually
    fixed in seconds; a wrong answer needs spectrum localisation over many more candidates.
    Within a time-boxed cycle this order promotes the most fixes; what is left waits for the
    next cycle, never dropped.
    """
    return sorted(batches, key=lambda b: (b.location is None, -b.score))
