"""The three ways to isolate a command, best first, and how to pick one.

* ``bwrap``   bubblewrap: an allowlisted read-only view of the host (see :mod:`.view`), only
              the workspace writable, a size-limited private /tmp, minimal /dev, own /proc
              with /proc/sys read-only, no network, own pid/ipc/uts namespaces, an
              unprivileged uid with no capabilities, a seccomp filter (:mod:`.seccomp`),
              dies with us.
* ``netns``   util-linux `unshare`: no network, own pid and mount namespaces; a shell prelude
              makes every mount read-only except the workspace, builds a minimal /dev, gives
              a private scratch tmpfs (TMPDIR=/dev/shm) and drops every capability.
* ``rlimits`` kernel limits and a session watchdog only: no network or filesystem isolation.

Each backend is probed once per process by really starting it (a binary on PATH is not proof:
user namespaces may be disabled, or a container may forbid mounts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from theseus._scratch import quota_support
from theseus.errors import SandboxError
from theseus.verify.sandbox.cgroup import cgroup_support
from theseus.verify.sandbox.seccomp import DENIED_SYSCALLS, SeccompUnavailable, seccomp_pipe
from theseus.verify.sandbox.view import SANDBOX_GID, SANDBOX_UID, bwrap_view

BACKENDS: tuple[str, ...] = ("bwrap", "netns", "rlimits")
BWRAP_PROTECTIONS = (
    "unprivileged uid",
    "fresh pid namespace and /proc",
    "/sys and /proc/sys read-only",
    "host filesystem allowlist",
    "no network",
    "size-limited /tmp",
    "seccomp filter",
    "memory limit counting tmpfs",
    "workspace disk quota",
)
"""What the bwrap backend enforces; ``theseus doctor`` lists each as active or missing."""
CHOICES: tuple[str, ...] = ("auto", *BACKENDS)


@dataclass(frozen=True)
class BackendInfo:
    """One backend: whether it works here, why (or why not), and what it isolates."""

    name: str
    available: bool
    reason: str
    warnings: tuple[str, ...] = ()
    isolates_network: bool = False
    isolates_filesystem: bool = False
    isolates_pids: bool = False
    version: str | None = None
    protections: tuple[tuple[str, bool, str], ...] = ()
    """(protection, active here, how or why not) for ``theseus doctor``."""


# A shell prelude run as root inside `unshare --mount ...`, before the command.
_NETNS_PRELUDE = r"""
set -u
ws=$1; cwd=$2; shift 2
fail() { echo "theseus sandbox (netns): $1" >&2; exit 125; }
mount -t tmpfs -o mode=1777,size=25% theseus-scratch /dev/shm || fail "cannot mount a private /dev/shm"
d=/dev/shm/.dev
mkdir -p "$d/shm" "$d/pts" && chmod 1777 "$d/shm" || fail "cannot build a minimal /dev"
for n in null zero full random urandom tty; do
  : > "$d/$n" && mount --bind "/dev/$n" "$d/$n" || fail "cannot expose /dev/$n"
done
ln -s /proc/self/fd "$d/fd"; ln -s /proc/self/fd/0 "$d/stdin"
ln -s /proc/self/fd/1 "$d/stdout"; ln -s /proc/self/fd/2 "$d/stderr"
mount --rbind "$d" /dev || fail "cannot replace /dev"
mount --bind "$ws" "$ws" || fail "cannot bind the workspace $ws"
while read -r _ _ _ _ mp _; do
  case "$mp" in /proc|/proc/*|/dev|/dev/*) continue ;; esac
  case "$mp" in "$ws"|"$ws"/*) continue ;; esac
  mount -o remount,bind,ro "$mp" 2>/dev/null || fail "cannot make $mp read-only"
done < /proc/self/mountinfo
for p in /proc/sys /proc/sysrq-trigger; do
  [ -e "$p" ] || continue
  mount --bind "$p" "$p" && mount -o remount,bind,ro "$p" || fail "cannot make $p read-only"
done
cd "$cwd" || fail "cannot enter $cwd"
# not exec: the shell stays pid 1 of the namespace, so the command keeps ordinary signal
# semantics (pid 1 ignores signals it has no handler for); 128+N reports signal N
setpriv --no-new-privs --bounding-set=-all --inh-caps=-all -- "$@"
exit $?
"""


def _as_root() -> bool:
    return os.geteuid() == 0


def _seccomp_fd() -> tuple[int | None, str]:
    """A pipe with the compiled filter, or None and why not."""
    try:
        return seccomp_pipe(), "libseccomp filter: " + ", ".join(DENIED_SYSCALLS[:6]) + ", ..."
    except SeccompUnavailable as exc:
        return None, str(exc)


def bwrap_argv(
    workspace: Path,
    cwd: Path,
    extra_ro: Sequence[Path],
    *,
    tmp_bytes: int = 256 * 1024 * 1024,
    seccomp_fd: int | None = None,
) -> list[str]:
    """The bubblewrap command line: the allowlisted view, fresh namespaces, and the command
    run as an unprivileged uid with no capabilities (as root: dropped by ``setpriv`` after
    bwrap has built the view; otherwise: a user namespace mapping us to that uid)."""
    args = ["bwrap", *bwrap_view(workspace, extra_ro, tmp_bytes=tmp_bytes)]
    # uts and cgroup namespaces cost little and hide the host's name and cgroup tree
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    before, after = unprivileged_args(as_root=_as_root())
    args += before
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    return [*args, "--chdir", str(cwd), "--", *after]


def unprivileged_args(*, as_root: bool) -> tuple[list[str], list[str]]:
    """The bwrap options (before ``--``) and the command prefix (after it) that make the
    command run as the unprivileged sandbox uid with no capabilities: as root, bwrap keeps
    only what ``setpriv`` needs to drop to that uid; otherwise a user namespace maps us to it."""
    uid, gid = str(SANDBOX_UID), str(SANDBOX_GID)
    if not as_root:
        return ["--unshare-user", "--uid", uid, "--gid", gid], []
    before = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    after = ["/usr/bin/setpriv", "--reuid", uid, "--regid", gid, "--clear-groups",
             "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--"]  # fmt: skip
    return before, after


def netns_argv(workspace: Path, cwd: Path, *, as_root: bool) -> list[str]:
    args = ["setpriv", "--pdeathsig", "KILL", "--", "unshare", "--net", "--pid", "--fork"]
    args += ["--kill-child", "--mount", "--propagation", "private", "--mount-proc"]
    args += [] if as_root else ["--map-root-user"]
    return [*args, "--", "/bin/sh", "-c", _NETNS_PRELUDE, "theseus-netns", str(workspace), str(cwd)]


def rlimits_argv() -> list[str]:
    return ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


_lock = threading.Lock()
_probed: dict[str, BackendInfo] = {}


def _try(argv: list[str], pass_fds: Sequence[int] = ()) -> tuple[bool, str]:
    try:
        done = subprocess.run(
            argv, capture_output=True, timeout=20, check=False, pass_fds=tuple(pass_fds)
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return False, lines[-1] if lines else f"exit status {done.returncode}"
    return True, ""


def _probe_bwrap() -> BackendInfo:
    path = shutil.which("bwrap")
    if path is None:
        return BackendInfo("bwrap", False, "bwrap is not installed (apt-get install bubblewrap)")
    version_run = subprocess.run([path, "--version"], capture_output=True, check=False)
    version = version_run.stdout.decode().strip().removeprefix("bubblewrap ") or None
    if _as_root() and not Path("/usr/bin/setpriv").is_file():
        return BackendInfo(
            "bwrap", False, "running as root needs /usr/bin/setpriv (util-linux) to drop to an"
            " unprivileged uid inside bwrap"
        )  # fmt: skip
    fd, filter_how = _seccomp_fd()
    with tempfile.TemporaryDirectory(prefix="theseus-probe-") as raw:
        probe_dir = Path(raw).resolve()
        os.chmod(probe_dir, 0o777)
        argv = [*bwrap_argv(probe_dir, probe_dir, (), seccomp_fd=fd), "/bin/true"]
        ok, why = _try(argv, () if fd is None else (fd,))
    if fd is not None:
        os.close(fd)
    if not ok:
        return BackendInfo("bwrap", False, f"bwrap {version} is installed but fails here: {why}")
    uid_how = (
        f"uid {SANDBOX_UID} via setpriv, all capabilities dropped"
        if _as_root()
        else f"user namespace as uid {SANDBOX_UID}"
    )
    protections = (
        ("unprivileged uid", True, uid_how),
        ("fresh pid namespace and /proc", True, "--unshare-pid --proc /proc"),
        ("/sys and /proc/sys read-only", True, "read-only binds"),
        ("host filesystem allowlist", True, "/usr, a few /etc files, the Python environment"),
        ("no network", True, "--unshare-net: loopback only, nothing listening"),
        ("size-limited /tmp", True, "a tmpfs of verify.tmp_mb megabytes"),
        ("seccomp filter", fd is not None, filter_how),
        ("memory limit counting tmpfs", *cgroup_support()),
        ("workspace disk quota", *quota_support()),
    )
    return BackendInfo(
        "bwrap",
        True,
        f"bubblewrap {version} works here: allowlisted read-only view, private /tmp, no "
        "network, own pids, unprivileged uid" + (", seccomp" if fd is not None else ""),
        warnings=() if fd is not None else (f"bwrap: no seccomp filter ({filter_how})",),
        isolates_network=True,
        isolates_filesystem=True,
        isolates_pids=True,
        version=version,
        protections=protections,
    )


def _probe_netns() -> BackendInfo:
    missing = [tool for tool in ("unshare", "setpriv", "mount") if shutil.which(tool) is None]
    if missing:
        return BackendInfo("netns", False, f"{', '.join(missing)} not installed (util-linux)")
    with tempfile.TemporaryDirectory(prefix="theseus-probe-") as raw:
        probe_dir = Path(raw).resolve()
        argv = netns_argv(probe_dir, probe_dir, as_root=os.geteuid() == 0)
        ok, why = _try([*argv, "/bin/true"])
    if not ok:
        return BackendInfo("netns", False, f"unshare cannot create namespaces here: {why}")
    return BackendInfo(
        "netns",
        True,
        "unshare works here: no network, own pid and mount namespaces, read-only mounts",
        warnings=("netns: a shell prelude builds the filesystem view; bubblewrap is tighter",),
        isolates_network=True,
        isolates_filesystem=True,
        isolates_pids=True,
    )


def _probe_rlimits() -> BackendInfo:
    how = "prlimit(1)" if shutil.which("prlimit") else "setrlimit in the child"
    return BackendInfo(
        "rlimits",
        True,
        f"resource limits via {how} and a session watchdog; always available",
        warnings=(
            "SANDBOX WEAK: rlimits backend has NO network and NO filesystem isolation; "
            "candidate code can reach the network and write anywhere this user can. "
            "Install bubblewrap (apt-get install bubblewrap) for real isolation.",
        ),
    )


_PROBES = {"bwrap": _probe_bwrap, "netns": _probe_netns, "rlimits": _probe_rlimits}


def probe(name: str) -> BackendInfo:
    """The (cached) probe result of one backend."""
    if name not in _PROBES:
        raise SandboxError(
            f"unknown sandbox backend {name!r}", hint=f"use one of: {', '.join(CHOICES)}"
        )
    with _lock:
        if name not in _probed:
            _probed[name] = _PROBES[name]()
        return _probed[name]


def all_backends() -> list[BackendInfo]:
    """Every backend, best first, with whether it works here."""
    return [probe(name) for name in BACKENDS]


def detect_backend(preferred: str = "auto") -> BackendInfo:
    """The backend a run will use: ``preferred`` if it works, or the best one for "auto".

    Naming a backend that does not work here is an error rather than a silent downgrade:
    whoever asked for bwrap must not get rlimits without noticing.
    """
    if preferred == "auto":
        for name in BACKENDS:
            info = probe(name)
            if info.available:
                return info
        raise SandboxError("no sandbox backend works here")  # rlimits always works
    info = probe(preferred)
    if not info.available:
        raise SandboxError(
            f"sandbox backend {preferred!r} is not available: {info.reason}",
            hint="use --backend auto to take the best one that works",
        )
    return info
