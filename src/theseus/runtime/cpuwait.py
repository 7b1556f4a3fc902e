"""How long this thread waited for a CPU: the part of a call's time that is the host's.

On a busy host a call's wall time includes the time its thread was runnable but waiting
in the kernel's run queue. Linux counts that per thread in ``/proc/thread-self/schedstat``
(second field, nanoseconds). The worker reads it before and after each agent call, so the
health watch can judge the agent's own time (computing, sleeping, waiting on the network)
apart from queueing. One ``pread`` on a file kept open costs about a microsecond.

Where schedstat is not available (another OS, a kernel without CONFIG_SCHED_INFO) the
clock reads zero and the agent's own time is its wall time, as before.
"""

from __future__ import annotations

import contextlib
import os

_PATH = "/proc/thread-self/schedstat"


class RunQueueClock:
    """Nanoseconds the opening thread has waited for a CPU, read with one ``pread``."""

    def __init__(self) -> None:
        self._fd: int | None = None
        with contextlib.suppress(OSError):
            self._fd = os.open(_PATH, os.O_RDONLY | os.O_CLOEXEC)
        if self._fd is not None and self._read() is None:
            self.close()

    @property
    def available(self) -> bool:
        return self._fd is not None

    def _read(self) -> int | None:
        if self._fd is None:
            return None
        try:
            fields = os.pread(self._fd, 96, 0).split()
            return int(fields[1])
        except (OSError, IndexError, ValueError):
            return None

    def waited_ns(self) -> int:
        """Total run-queue wait of the thread so far (0 when unavailable)."""
        value = self._read()
        return 0 if value is None else value

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
