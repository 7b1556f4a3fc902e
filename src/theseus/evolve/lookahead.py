"""The next batch's search, started while the cycle waits on a health watch.

After a fix is promoted the cycle waits the whole health window for the live service's
verdict, and the next batch will be searched on the promoted commit. So that search starts
now, in the background, on that commit: the first proposer's candidates for the next batch,
handed to the cycle when it reaches the batch, as long as the promoted commit is still what
the next fix builds on. After a rollback (the line moved to a revert commit) they are
dropped: the search still runs out its own budget, its result unused.

Only an offline proposer searches ahead (the repair engine): a model proposer's calls cost
tokens for a search a rollback may throw away, and are charged to a budget the cycle checks
between calls. The search sees what it would see later: the same batch, base commit, earlier
attempts and budget; its progress lines and rejections are kept and replayed to the cycle
when it takes the candidates, so the record reads as if it had run then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from theseus.change import Candidate
from theseus.propose import Proposer, Rejected

__all__ = ["Lookahead", "Prepared", "searches_ahead"]

Search = Callable[[Callable[[str], None], Callable[[Rejected], None]], list[Candidate]]
"""Runs one proposer's search, with where its notes and rejections go."""


def searches_ahead(proposer: Proposer) -> bool:
    """Whether ``proposer`` may search before the cycle knows it will need the result: only
    one that runs offline and costs nothing but CPU (it says so with ``offline = True``)."""
    return getattr(proposer, "offline", False) is True


@dataclass
class Prepared:
    """What a search ahead produced for one batch on one base commit."""

    signature: str
    base_commit: str
    proposer: str
    candidates: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    error: BaseException | None = None

    def replay(
        self, note: Callable[[str], None], rejected: Callable[[Rejected], None]
    ) -> list[Candidate]:
        """Tell the cycle what the search said, as it would have heard it; its candidates
        (or the error it ended with, raised now, in the cycle's thread)."""
        note("searched during the last health watch, on the promoted commit")
        for line in self.notes:
            note(line)
        for answer in self.rejected:
            rejected(answer)
        if self.error is not None:
            raise self.error
        return self.candidates


class Lookahead:
    """At most one search ahead at a time; :meth:`take` hands its result over once."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._prepared: Prepared | None = None
        self.started = 0
        self.used = 0

    def start(self, signature: str, base_commit: str, proposer: str, search: Search) -> bool:
        """Begin ``search`` for ``signature`` on ``base_commit``; False when one still runs."""
        if self._thread is not None and self._thread.is_alive():
            return False
        prepared = Prepared(signature, base_commit, proposer)

        def work() -> None:
            try:
                prepared.candidates = search(prepared.notes.append, prepared.rejected.append)
            except BaseException as exc:  # handed to the cycle, which reports it as its own
                prepared.error = exc

        self._prepared = prepared
        self.started += 1
        self._thread = threading.Thread(target=work, name="theseus-lookahead", daemon=True)
        self._thread.start()
        return True

    def take(self, signature: str, base_commit: str, proposer: str) -> Prepared | None:
        """The search ahead for exactly this batch, base and proposer (waiting for it to
        finish: it is the work the cycle would do now), else None and nothing is waited on."""
        prepared = self._prepared
        if prepared is None or (prepared.signature, prepared.base_commit, prepared.proposer) != (
            signature,
            base_commit,
            proposer,
        ):
            return None
        if self._thread is not None:
            self._thread.join()
        self._prepared = None
        self.used += 1
        return prepared

    def ready(self, signature: str, base_commit: str) -> bool:
        """Whether a finished search ahead for this batch and base found candidates."""
        prepared = self._prepared
        return (
            prepared is not None
            and (prepared.signature, prepared.base_commit) == (signature, base_commit)
            and self._thread is not None
            and not self._thread.is_alive()
            and bool(prepared.candidates)
        )

    def join(self) -> None:
        """Wait for the background search (a cycle ends with nothing left running)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
