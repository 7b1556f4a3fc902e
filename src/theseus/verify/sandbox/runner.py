"""Run one command in the sandbox: start it, watch it, capture it, end it, explain it.

Safe to call from many threads at once: nothing runs between fork and exec (the limits are
set by prlimit(1)), each run has its own process group, namespace or session, and the
backend probes are cached behind a lock.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import IO

from theseus.errors import SandboxError
from theseus.verify.sandbox.backends import (
    BackendInfo,
    bwrap_argv,
    detect_backend,
    netns_argv,
    rlimits_argv,
)
from theseus.verify.sandbox.cgroup import MemoryCgroup, memory_cgroup
from theseus.verify.sandbox.limits import (
    Limits,
    SandboxResult,
    explain,
    normalise_returncode,
    prlimit_argv,
    rlimit_preexec,
    user_process_count,
)
from theseus.verify.sandbox.procs import NamespaceTracker, SessionTracker, Tracker
from theseus.verify.sandbox.seccomp import SeccompUnavailable, seccomp_pipe

_CHUNK = 65536
SHARED_UID_PROCESSES = 4096
_FIRST_COUNT = 0.05


class _Capture:
    """Drains one pipe on its own thread, keeping at most ``cap`` bytes.

    The pipe is read to its end even past the cap, so a chatty command never blocks on a
    full pipe (and so never turns into a false timeout).
    """

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        self._fd = stream.fileno()
        self._stream = stream
        self._cap = cap
        self._parts: list[bytes] = []
        self._kept = 0
        self.truncated = False
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._fd, _CHUNK):
                room = self._cap - self._kept
                if len(chunk) > room:
                    self.truncated = True
                    chunk = chunk[: max(room, 0)]
                if chunk:
                    self._parts.append(chunk)
                    self._kept += len(chunk)
        except OSError:
            pass
        finally:
            self._stream.close()

    def text(self, timeout: float) -> str:
        self._thread.join(timeout)
        return b"".join(self._parts).decode("utf-8", errors="replace")


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
    except (BrokenPipeError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            stream.close()


def _folder(path: Path, what: str) -> Path:
    resolved = Path(path).resolve()
    if not resolved.is_dir():
        raise SandboxError(
            f"{what} {path} is not an existing folder", hint=f"create it or fix --{what}"
        )
    return resolved


def sandbox_env(workspace: Path, backend: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    """The whole environment of a sandboxed command: minimal and explicit.

    Nothing is inherited from the parent (no proxy settings, no API keys); the venv's bin
    folder comes first on PATH so ``python`` is the interpreter running Theseus.
    """
    bindir = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workspace),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONUNBUFFERED": "1",  # what a killed command printed is kept, not lost in a buffer
    }
    if backend == "bwrap":
        env["TMPDIR"] = "/tmp"
    elif backend == "netns":
        env["TMPDIR"] = "/dev/shm"
    env.update(extra or {})
    return env


@lru_cache(maxsize=8)
def _has(tool: str) -> bool:
    return shutil.which(tool) is not None


def command_line(
    argv: Sequence[str],
    info: BackendInfo,
    limits: Limits,
    workspace: Path,
    cwd: Path,
    extra_ro_paths: Sequence[Path] = (),
    seccomp_fd: int | None = None,
) -> tuple[list[str], Callable[[], None] | None]:
    """The full command line (limits + backend + command) and the preexec fallback, if any."""
    nproc_base = user_process_count()
    if info.name == "bwrap" and os.geteuid() == 0:
        # The command runs as the sandbox uid, which every concurrent run shares, and
        # RLIMIT_NPROC counts all of that uid's processes: as the per-run limit it would let
        # one run starve another. The watchdog counts each run's own namespace; the rlimit
        # stays as a host-wide backstop only.
        nproc_base = SHARED_UID_PROCESSES
    use_prlimit = _has("prlimit")
    prefix = prlimit_argv(limits, nproc_base=nproc_base) if use_prlimit else []
    preexec = None if use_prlimit else rlimit_preexec(limits, nproc_base=nproc_base)
    if info.name == "bwrap":
        ro = [Path(p).resolve() for p in extra_ro_paths]
        tmp_bytes = limits.tmp_mb * 1024 * 1024
        wrap = bwrap_argv(workspace, cwd, ro, tmp_bytes=tmp_bytes, seccomp_fd=seccomp_fd)
    elif info.name == "netns":
        wrap = netns_argv(workspace, cwd, as_root=os.geteuid() == 0)
    else:
        wrap = rlimits_argv()
    return [*prefix, *wrap, *argv], preexec


def run_sandboxed(
    argv: Sequence[str],
    workspace: Path,
    limits: Limits = Limits(),  # noqa: B008 - Limits is frozen, sharing the default is safe
    *,
    env: Mapping[str, str] | None = None,
    backend: str = "auto",
    cwd: Path | None = None,
    stdin: bytes | None = None,
    extra_ro_paths: Sequence[Path] = (),
    allow_weak: bool = False,
    pass_fds: Sequence[int] = (),
) -> SandboxResult:
    """Run ``argv`` in the sandbox with only ``workspace`` writable; never raises for what
    the command does (that is in the result), only for bad arguments or a sandbox that
    cannot contain it (SandboxError).

    The ``rlimits`` backend isolates nothing (network, files, other processes): it runs
    only with ``allow_weak`` (``[verify] allow_weak_sandbox = true``), never by accident.
    ``pass_fds`` are kept open into the command (e.g. one end of a socket pair)."""
    if not argv or not str(argv[0]):
        raise SandboxError("no command given", hint="pass the command to run after --")
    ws = _folder(workspace, "workspace")
    if ws == Path("/"):
        raise SandboxError("the workspace cannot be /", hint="pass the candidate's own folder")
    where = _folder(cwd, "cwd") if cwd is not None else ws
    info = detect_backend(backend)
    if not info.isolates_filesystem and not allow_weak:
        raise SandboxError(
            f"the {info.name} sandbox backend contains nothing (no network, filesystem or"
            " process isolation), so candidate code will not run in it",
            hint="install bubblewrap (apt-get install bubblewrap), or set [verify]"
            " allow_weak_sandbox = true to run unconfined code knowingly",
        )
    seccomp_fd = _seccomp_for(info)
    if info.name == "bwrap" and os.geteuid() == 0:
        open_to_sandbox(ws)  # bwrap runs it as an unprivileged uid: let that uid write here
    full, preexec = command_line(argv, info, limits, ws, where, extra_ro_paths, seccomp_fd)
    group = _memory_group(info, limits)
    if group is not None:
        full = [*group.prefix(), *full]  # joins its cgroup before anything else runs
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            full,
            cwd=str(where),
            env=sandbox_env(ws, info.name, env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=preexec,  # None whenever prlimit exists
            pass_fds=(*pass_fds, *(() if seccomp_fd is None else (seccomp_fd,))),
        )
    except OSError as exc:
        if group is not None:
            group.remove()
        raise SandboxError(f"cannot start the sandbox ({full[0]}): {exc.strerror}") from None
    finally:
        if seccomp_fd is not None:
            os.close(seccomp_fd)
    assert proc.stdout is not None and proc.stderr is not None
    out = _Capture(proc.stdout, limits.max_output_bytes)
    err = _Capture(proc.stderr, limits.max_output_bytes)
    if stdin is not None and proc.stdin is not None:
        threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
    namespaced = info.isolates_pids
    tracker: Tracker = NamespaceTracker(proc.pid) if namespaced else SessionTracker(proc.pid)
    timed_out, too_many = _watch(proc, tracker, limits, started, 0.02 if namespaced else 0.05)
    if timed_out or too_many:
        tracker.kill_all()
    raw = proc.wait()
    duration = time.monotonic() - started
    if not namespaced:
        tracker.kill_all()  # stragglers of the session; a namespace dies with its init
    stdout, stderr = out.text(5.0), err.text(5.0)
    returncode = normalise_returncode(raw, info.name)
    memory_killed = False
    if group is not None:
        memory_killed = group.oom_kills() > 0
        group.remove()
    return SandboxResult(
        returncode=returncode,
        stdout=stdout,
        stderr=stderr,
        duration=duration,
        timed_out=timed_out,
        reason=(
            f"memory limit ({limits.memory_mb} MB, its /tmp included) exceeded"
            if memory_killed and not timed_out and not too_many and returncode != 0
            else explain(
                returncode,
                stderr,
                limits,
                timed_out=timed_out,
                process_limit_hit=too_many,
                backend=info.name,
            )
        ),
        backend=info.name,
        truncated=out.truncated or err.truncated,
    )


def _memory_group(info: BackendInfo, limits: Limits) -> MemoryCgroup | None:
    """A memory cgroup for the run when the backend isolates and cgroups can be made here."""
    if info.name not in ("bwrap", "netns") or limits.memory_mb is None:
        return None
    if not limits.memory_cgroup:
        return None
    return memory_cgroup(limits.memory_mb * 1024 * 1024)


def _seccomp_for(info: BackendInfo) -> int | None:
    """A pipe with the seccomp program when this backend loads one (bwrap, where it works)."""
    if info.name != "bwrap" or not any(
        name == "seccomp filter" and active for name, active, _ in info.protections
    ):
        return None
    try:
        return seccomp_pipe()
    except SeccompUnavailable:
        return None


def open_to_sandbox(workspace: Path) -> None:
    """Make the workspace writable by the sandbox's unprivileged uid (as root only).

    Modes, not ownership: git refuses to work in a tree another user owns, and the folder
    above the workspace is private to us (0700), so no other host user can reach it."""
    for folder, dirs, files in os.walk(workspace):
        for name in dirs:
            _add_mode(os.path.join(folder, name), 0o777)
        for name in files:
            _add_mode(os.path.join(folder, name), 0o666)
    _add_mode(str(workspace), 0o777)


def _add_mode(path: str, bits: int) -> None:
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & bits != bits:
            os.chmod(path, stat.S_IMODE(st.st_mode) | bits)


def _watch(
    proc: subprocess.Popen[bytes],
    tracker: Tracker,
    limits: Limits,
    started: float,
    interval: float,
) -> tuple[bool, bool]:
    """Wait for the command; (timed out, too many processes) if it had to be stopped.

    Waits on a pidfd where the kernel has them, so the end of a short command is seen at
    once instead of at the next poll. The first process count comes after 50 ms, then every
    ``interval``: a short command (most trials) costs no /proc scan at all.
    """
    deadline = started + limits.timeout
    waiter = _exit_waiter(proc)
    step = max(interval, _FIRST_COUNT)
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True, False
            if waiter(min(step, remaining)):
                return False, False
            step = interval
            if limits.max_processes is not None and tracker.count() > limits.max_processes:
                return False, True
    finally:
        waiter(None)


def _exit_waiter(proc: subprocess.Popen[bytes]) -> Callable[[float | None], bool]:
    """``wait(seconds) -> exited?``; ``wait(None)`` releases what it holds."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        pidfd = -1
    if pidfd < 0:

        def by_polling(seconds: float | None) -> bool:
            if seconds is None:
                return True
            try:
                proc.wait(timeout=seconds)
                return True
            except subprocess.TimeoutExpired:
                return False

        return by_polling
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)

    def by_pidfd(seconds: float | None) -> bool:
        if seconds is None:
            os.close(pidfd)
            return True
        return bool(poller.poll(seconds * 1000))

    return by_pidfd
