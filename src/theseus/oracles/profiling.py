"""The one way the oracles watch a running call: ``sys.setprofile`` for the calling thread.

Profiling, not tracing: ``sys.settrace`` belongs to coverage during repair trials, and a
profiler sees only calls and returns, which is all these watches need and much cheaper.
Entering installs the watch's ``_profile``; leaving puts back whatever profiler was there.
"""

from __future__ import annotations

import sys
from types import FrameType, TracebackType
from typing import Any, Self

__all__ = ["ProfileWatch"]


class ProfileWatch:
    """Base of a ``with`` watch; subclasses define ``_profile`` (and may skip ``_active``)."""

    _previous: Any = None

    def _active(self) -> bool:
        """Whether there is anything to watch (else nothing is installed at all)."""
        return True

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._previous = sys.getprofile()
        if self._active():
            sys.setprofile(self._profile)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sys.setprofile(self._previous)
