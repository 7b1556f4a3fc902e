"""What a sandboxed run may use, what it did, and why it ended, in words.

The limits are applied with `prlimit(1)` around the backend's command line rather than with
``preexec_fn``: the verification executor starts sandboxes from several threads at once, and
running Python code between ``fork`` and ``exec`` in a threaded process can deadlock.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from theseus.errors import SandboxError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run; ``None`` means "no limit" for that resource."""

    timeout: float = 60.0
    """Wall clock, in seconds; the whole process tree is killed when it runs out."""
    memory_mb: int | None = 2048
    """Address space of each process (RLIMIT_AS)."""
    cpu_seconds: int | None = None
    """CPU time of each process (RLIMIT_CPU); SIGXCPU at the limit, SIGKILL a second later."""
    max_processes: int | None = 256
    """Processes alive in the sandbox at once, enforced by a watchdog (root ignores RLIMIT_NPROC)."""
    max_file_mb: int | None = 256
    """Largest file a process may write (RLIMIT_FSIZE)."""
    max_output_bytes: int = 1_000_000
    """Captured stdout and stderr, each; the rest is read and dropped, and ``truncated`` set."""
    tmp_mb: int = 256
    """Size of the private /tmp (a tmpfs, so it counts against memory, not disk)."""
    memory_cgroup: bool = True
    """Also hold the whole run (tmpfs pages included) to ``memory_mb`` in a memory cgroup,
    where one can be made; joining one costs 1-30 ms per run on a cgroup v1 kernel."""

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise SandboxError(f"timeout must be a positive number of seconds, got {self.timeout}")
        checks: tuple[tuple[str, int | None, int], ...] = (
            ("memory_mb", self.memory_mb, 16),
            ("cpu_seconds", self.cpu_seconds, 1),
            ("max_processes", self.max_processes, 1),
            ("max_file_mb", self.max_file_mb, 1),
            ("tmp_mb", self.tmp_mb, 1),
        )
        for name, value, least in checks:
            if value is not None and value < least:
                raise SandboxError(f"{name} must be at least {least}, got {value}")
        if self.max_output_bytes < 0:
            raise SandboxError(f"max_output_bytes must be >= 0, got {self.max_output_bytes}")


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of one sandboxed command.

    ``returncode`` is the command's exit status, negative for a signal as in `subprocess`
    (``None`` only if the command never started); ``reason`` says in words why it did not
    succeed, and is ``None`` when it did.
    """

    returncode: int | None
    stdout: str
    stderr: str
    duration: float
    timed_out: bool
    reason: str | None
    backend: str
    truncated: bool

    @property
    def ok(self) -> bool:
        """Exited with status 0, inside every limit."""
        return self.returncode == 0 and not self.timed_out and self.reason is None

    @property
    def exit_code(self) -> int:
        """A shell-style status: 124 for a timeout, 128+N for signal N, else the status."""
        if self.timed_out:
            return 124
        if self.returncode is None:
            return 125
        if self.returncode < 0:
            return 128 - self.returncode
        return self.returncode


def prlimit_argv(limits: Limits, *, nproc_base: int = 0) -> list[str]:
    """``prlimit --as=... -- `` prefix setting the kernel limits of the run.

    ``nproc_base`` is added to the process limit: for an ordinary user RLIMIT_NPROC counts
    every process that user already has, so the limit must sit above them.
    """
    args = ["prlimit"]
    if limits.memory_mb is not None:
        args.append(f"--as={limits.memory_mb * MB}")
    if limits.cpu_seconds is not None:
        args.append(f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}")
    if limits.max_file_mb is not None:
        args.append(f"--fsize={limits.max_file_mb * MB}")
    if limits.max_processes is not None:
        args.append(f"--nproc={limits.max_processes + nproc_base}")
    args.append("--")
    return args


def rlimit_preexec(limits: Limits, *, nproc_base: int = 0) -> Callable[[], None]:
    """The same limits as a ``preexec_fn``, for systems without prlimit(1)."""
    pairs: list[tuple[int, int, int]] = []
    if limits.memory_mb is not None:
        pairs.append((resource.RLIMIT_AS, limits.memory_mb * MB, limits.memory_mb * MB))
    if limits.cpu_seconds is not None:
        pairs.append((resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1))
    if limits.max_file_mb is not None:
        size = limits.max_file_mb * MB
        pairs.append((resource.RLIMIT_FSIZE, size, size))
    if limits.max_processes is not None:
        count = limits.max_processes + nproc_base
        pairs.append((resource.RLIMIT_NPROC, count, count))

    def apply() -> None:
        for which, soft, hard in pairs:
            resource.setrlimit(which, (soft, hard))

    return apply


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


_NOT_FOUND = re.compile(
    r"^(?:bwrap: execvp|setpriv: failed to execute|prlimit: failed to execute) (\S+?): No such file",
    re.M,
)
_MEMORY_MARKS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_FORK_MARKS = ("Resource temporarily unavailable", "fork: retry", "can't fork")


def explain(
    returncode: int | None,
    stderr: str,
    limits: Limits,
    *,
    timed_out: bool,
    process_limit_hit: bool,
    backend: str,
) -> str | None:
    """Why a run did not succeed, in words a person reads in a verdict line."""
    if timed_out:
        return f"timeout after {limits.timeout:g}s"
    if process_limit_hit:
        return f"process limit ({limits.max_processes}) exceeded"
    if returncode is None:
        return "the command did not start"
    if returncode == 0:
        return None
    tail = stderr[-4000:]
    if returncode < 0:
        number = -returncode
        if number == signal.SIGXCPU and limits.cpu_seconds is not None:
            return f"cpu time limit ({limits.cpu_seconds}s) exceeded"
        if number == signal.SIGXFSZ and limits.max_file_mb is not None:
            return f"file size limit ({limits.max_file_mb} MB) exceeded"
        return f"killed by {signal_name(number)}"
    missing = _NOT_FOUND.search(tail[:500])
    if missing is not None:
        return f"command not found: {missing.group(1)}"
    if backend == "bwrap" and returncode == 1 and tail.lstrip().startswith("bwrap:"):
        return f"sandbox setup failed: {tail.strip().splitlines()[0]}"
    if returncode == 125 and "theseus sandbox" in tail:
        return f"sandbox setup failed: {tail.strip().splitlines()[-1]}"
    if limits.memory_mb is not None and any(mark in tail for mark in _MEMORY_MARKS):
        return f"memory limit ({limits.memory_mb} MB) exceeded"
    if limits.max_file_mb is not None and "File too large" in tail:
        return f"file size limit ({limits.max_file_mb} MB) exceeded"
    if limits.max_processes is not None and any(mark in tail for mark in _FORK_MARKS):
        return f"process limit ({limits.max_processes}) exceeded"
    return f"exit status {returncode}"


def normalise_returncode(raw: int, backend: str) -> int:
    """bubblewrap and the netns shell report a child killed by signal N as status 128+N;
    undo that so every backend reports signals the same way (negative, as `subprocess`
    does). A command that itself exits with 129..192 reads as a signal: shells agree."""
    if backend in ("bwrap", "netns") and 128 < raw < 128 + 65:
        return -(raw - 128)
    return raw


def user_process_count() -> int:
    """Processes the current user owns now (RLIMIT_NPROC counts them all), 0 for root."""
    uid = os.getuid()
    if uid == 0 or sys.platform != "linux":
        return 0
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count
