"""Work the cycle can do while it waits: the next batch's baseline during a health watch.

After a fix is promoted the cycle waits for the live service's health verdict (the whole
health window). The next signature's verification will need the new base commit's outcomes
for its checks (:mod:`theseus.verify.baseline`), a full cold run of its replay cases and the
test suite; computing it in that wait takes it off the critical path. The baseline cache is
keyed by commit and check set and locked per key, so a verification that arrives while the
prefetch still runs waits for it instead of computing it twice; after a rollback (a revert
commit) the prefetched baseline is simply never asked for.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from theseus.config import Settings
from theseus.evidence import FailureBatch
from theseus.verify import prefetch_baseline

__all__ = ["BaselinePrefetch"]


class BaselinePrefetch:
    """At most one baseline computed in the background at a time."""

    def __init__(self, settings: Settings, root: Path) -> None:
        self.settings, self.root = settings, root
        self._thread: threading.Thread | None = None
        self.started = 0

    def start(self, base_commit: str, batch: FailureBatch | None) -> None:
        """Begin computing ``batch``'s baseline at ``base_commit`` (nothing for None)."""
        if batch is None or (self._thread is not None and self._thread.is_alive()):
            return

        def work() -> None:
            try:
                prefetch_baseline(self.settings, self.root, base_commit, batch)
            except Exception as exc:  # the verification computes it itself, and says why
                print(f"theseus: baseline prefetch failed: {exc}", file=sys.stderr)

        self.started += 1
        self._thread = threading.Thread(target=work, name="theseus-prefetch", daemon=True)
        self._thread.start()

    def join(self) -> None:
        """Wait for the background work (a cycle ends with nothing left running)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
