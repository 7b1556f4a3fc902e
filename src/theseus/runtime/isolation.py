"""Least privilege for served workers: what a promoted version's code can reach.

The gate and the sandbox decide which code goes live; this module limits what live code
can do should one of them be wrong. Under the ``bwrap`` profile (the default wherever
bubblewrap works, see ``[runtime] worker_isolation``) each worker of each version runs:

* as an unprivileged uid (65534) with no capabilities when Theseus runs as root, else in a
  user namespace mapped to that uid;
* in an allowlisted read-only view of the host (:mod:`theseus.verify.sandbox.view`): the
  system's programs and libraries, the Python environment, and *its own version's tree*;
  not the repository, not ``.theseus/`` (the audit log, the evidence store, the session
  store, the admin token, the other versions), not ``/root``, ``/home`` or ``/run``;
* with write access only to the folders the project declares (``[runtime] state_paths``)
  and a private, size-limited ``/tmp`` (its ``HOME`` and bytecode cache live there);
* in its own pid, ipc and uts namespaces (it cannot see or signal the supervisor or other
  versions' workers), under the sandbox's seccomp filter, with an address-space limit
  (``worker_memory_mb``), and without network when ``worker_network = false``;
* with an environment that never holds Theseus's own secrets (the admin token, the audit
  key, the webhook secret): the agent's own variables (its model API key) are kept.

Its evidence goes back to the supervisor over the worker pipe (:mod:`.relay`). ``none``
runs workers as plain child processes, as before; ``theseus doctor`` says which applies.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from theseus.config import Settings
from theseus.errors import ConfigError, SandboxError
from theseus.verify.sandbox.backends import probe, unprivileged_args
from theseus.verify.sandbox.seccomp import SeccompUnavailable, seccomp_pipe
from theseus.verify.sandbox.view import FORBIDDEN_ROOTS, SANDBOX_GID, SANDBOX_UID, bwrap_view

__all__ = ["SECRET_ENVS", "WORKER_PROTECTIONS", "WorkerProfile", "worker_profile"]

WORKER_PROTECTIONS = (
    "unprivileged uid",
    "read-only code, no repository or .theseus",
    "writes only to declared state paths",
    "own pid namespace (cannot signal the supervisor)",
    "seccomp filter",
    "no Theseus secrets in the environment",
    "address-space limit",
    "no network",
)
SECRET_ENVS = ("THESEUS_AUDIT_KEY",)  # plus the configured admin-token and webhook variables
TMP_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class WorkerProfile:
    """How this project's served workers are confined, resolved once per supervisor."""

    mode: Literal["bwrap", "none"]
    reason: str
    network: bool
    writable: tuple[Path, ...]
    hidden: tuple[Path, ...]
    memory_bytes: int | None
    secret_envs: tuple[str, ...]
    as_root: bool
    seccomp: bool = False

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """The worker's environment: ``env`` less Theseus's secrets; under bwrap, with a
        home and bytecode cache in its private /tmp."""
        cleaned = {k: v for k, v in env.items() if k not in self.secret_envs}
        if self.mode == "bwrap":
            # Its parent is bwrap, not the supervisor, whose pid it cannot see; bwrap's
            # --die-with-parent does that job. Bytecode: read what the environment has,
            # write nothing (a shared cache would let one version plant code for another).
            cleaned.pop("THESEUS_SUPERVISOR_PID", None)
            cleaned.pop("PYTHONPYCACHEPREFIX", None)
            cleaned.update(HOME="/tmp", TMPDIR="/tmp", PYTHONDONTWRITEBYTECODE="1")
        return cleaned

    def command(
        self, argv: list[str], version_tree: Path, cwd: Path
    ) -> tuple[list[str], int | None]:
        """``argv`` wrapped in the profile, and the seccomp fd to pass (close it after the
        spawn); the version tree is the only code it can read besides the environment."""
        limit = ["/usr/bin/prlimit", "--core=0"]
        if self.memory_bytes is not None:
            limit.append(f"--as={self.memory_bytes}")
        if self.mode == "none":
            return ([*limit, "--", *argv] if Path(limit[0]).is_file() else argv), None
        fd: int | None = None
        if self.seccomp:
            with contextlib.suppress(SeccompUnavailable):
                fd = seccomp_pipe()
        args = ["bwrap", *bwrap_view(self.writable, [version_tree], tmp_bytes=TMP_BYTES,
                                     hidden=self.hidden)]  # fmt: skip
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if not self.network:
            args.append("--unshare-net")
        args += ["--die-with-parent", "--new-session"]
        before, after = unprivileged_args(as_root=self.as_root)
        args += before
        if fd is not None:
            args += ["--seccomp", str(fd)]
        return [*args, "--chdir", str(cwd), "--", *after, *limit, "--", *argv], fd

    def protections(self) -> list[tuple[str, bool, str]]:
        """(protection, active, how or why not), in :data:`WORKER_PROTECTIONS` order."""
        boxed = self.mode == "bwrap"
        why_not = self.reason if not boxed else ""
        paths = ", ".join(str(p) for p in self.writable) or "none declared"
        return [
            ("unprivileged uid", boxed, f"uid {SANDBOX_UID}" if boxed else why_not),
            ("read-only code, no repository or .theseus", boxed, "bwrap view" if boxed else why_not),
            ("writes only to declared state paths", boxed, paths if boxed else why_not),
            ("own pid namespace (cannot signal the supervisor)", boxed, "--unshare-pid" if boxed else why_not),
            ("seccomp filter", boxed and self.seccomp,
             "the sandbox's filter" if self.seccomp else why_not or "libseccomp unavailable"),
            ("no Theseus secrets in the environment", True, ", ".join(self.secret_envs)),
            ("address-space limit", self.memory_bytes is not None,
             f"{self.memory_bytes // 2**20} MiB" if self.memory_bytes else "runtime.worker_memory_mb unset"),
            ("no network", boxed and not self.network,
             "--unshare-net" if boxed and not self.network else "runtime.worker_network = true"),
        ]  # fmt: skip


def worker_profile(settings: Settings, *, prepare: bool = True) -> WorkerProfile:
    """The profile ``[runtime]`` asks for, checked against what works on this host.

    ``auto`` takes bwrap where it works and says why not otherwise; naming ``bwrap`` where it
    does not work is a ConfigError rather than a silent downgrade. ``prepare`` creates the
    declared state folders and hands them to the worker uid (``theseus doctor`` only looks)."""
    rt = settings.runtime
    mode: Literal["bwrap", "none"] = "none"
    reason = "runtime.worker_isolation = 'none'"
    seccomp = False
    if rt.worker_isolation != "none":
        info = probe("bwrap")
        if info.available:
            mode, reason = "bwrap", info.reason
            seccomp = any(name == "seccomp filter" and on for name, on, _ in info.protections)
        elif rt.worker_isolation == "bwrap":
            raise ConfigError(
                f"runtime.worker_isolation = 'bwrap' but bubblewrap does not work here: {info.reason}",
                hint="install bubblewrap, or set worker_isolation = 'auto' or 'none'",
            )
        else:
            reason = f"bubblewrap is not usable here ({info.reason})"
    secrets = (*SECRET_ENVS, rt.admin_token_env, settings.gate.webhook_secret_env)
    hidden = (settings.state_dir.resolve(), *_repo_dirs(settings.root))
    writable = tuple(_state_path(settings, raw, hidden, prepare) for raw in rt.state_paths)
    profile = WorkerProfile(
        mode=mode,
        reason=reason,
        network=rt.worker_network,
        writable=writable,
        hidden=hidden,
        memory_bytes=rt.worker_memory_mb * 2**20 if rt.worker_memory_mb else None,
        secret_envs=tuple(dict.fromkeys(secrets)),
        as_root=os.geteuid() == 0,
        seccomp=seccomp,
    )
    if mode == "bwrap" and prepare:
        for path in writable:
            _open_to_worker(path, as_root=profile.as_root)
    return profile


def _repo_dirs(project: Path) -> list[Path]:
    """The git folders of the project: a served worker must not read the history."""
    found = []
    for folder in [project.resolve(), *project.resolve().parents]:
        if (folder / ".git").exists():
            found.append(folder / ".git")
            break
    return found


def _state_path(settings: Settings, raw: str, hidden: tuple[Path, ...], prepare: bool) -> Path:
    """One declared state path, made absolute and created; ConfigError when it would expose
    what the worker must not reach."""
    path = (settings.root / raw).resolve() if not os.path.isabs(raw) else Path(raw).resolve()
    clash = next((h for h in hidden if h.is_relative_to(path) or path.is_relative_to(h)), None)
    if str(path) in FORBIDDEN_ROOTS or clash is not None or path == settings.root.resolve():
        raise ConfigError(
            f"runtime.state_paths entry {raw!r} ({path}) would give served workers write"
            f" access to {clash or path}",
            hint="declare a folder of the agent's own data, e.g. 'var/agent-data'",
        )
    try:
        if prepare:
            path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create runtime.state_paths entry {path}: {exc}") from None
    return path


def _open_to_worker(path: Path, *, as_root: bool) -> None:
    """As root, give the worker uid the declared state folder (ownership, not world-writable
    modes: no other host user gains anything). Unprivileged, the user namespace maps our
    own uid, which already owns it."""
    if not as_root:
        return
    try:
        for folder, dirs, files in os.walk(path):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(folder, name), SANDBOX_UID, SANDBOX_GID)
        os.chown(path, SANDBOX_UID, SANDBOX_GID)
    except OSError as exc:
        raise SandboxError(f"cannot hand {path} to the worker uid {SANDBOX_UID}: {exc}") from None
