"""What the sandboxed command sees of the host: an allowlist, not the whole filesystem.

Candidate code once read ``/etc/shadow`` and files under ``/root``, wrote ``/proc/sys`` and
reached unix sockets under ``/run``, because the host's root was bound read-only as a whole.
The bubblewrap view starts from an empty tmpfs instead and binds in, read-only, only what a
Python test run needs: the system's programs and libraries (``/usr`` and the merged-usr
links), a few files of ``/etc`` that programs read (no shadow, no sudoers, no ssh keys), the
Python installation and the environment Theseus runs in (the interpreter's prefixes and
every folder on its import path, e.g. an editable install), plus any paths the project
names (``[verify] read_only_paths``). The workspace is the only host folder it may write;
``/tmp`` is a private tmpfs of a fixed size; ``/proc`` is the sandbox's own, with
``/proc/sys`` read-only; ``/sys`` is read-only. Not there at all: ``/root`` and ``/home``
(but for the Python installation inside them), ``/run``, ``/var``, the host's ``/tmp``.

When Theseus runs as root the command does not: it runs as an unprivileged uid (nobody by
default), with every capability dropped and no way to gain one (no_new_privs), so file
permissions on the host apply to it as to any stranger.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = [
    "ETC_FILES",
    "FORBIDDEN_ROOTS",
    "SANDBOX_GID",
    "SANDBOX_UID",
    "bwrap_view",
    "python_paths",
]

SANDBOX_UID = 65534
SANDBOX_GID = 65534

# Files of /etc that programs read and that hold no secret.
ETC_FILES = (
    "passwd",
    "group",
    "hosts",
    "nsswitch.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "alternatives",
    "mime.types",
    "protocols",
    "services",
    "os-release",
    "debian_version",
    # The public CA certificates (never /etc/ssl as a whole: /etc/ssl/private holds keys).
    # An agent that calls a model over HTTPS needs them, and an environment that points
    # SSL_CERT_FILE / SSL_CERT_DIR here makes every TLS client fail to start without them.
    "ssl/certs",
)

# Never bound as a whole, even when they are on the import path: too broad to expose.
FORBIDDEN_ROOTS = frozenset(
    {"/", "/root", "/home", "/run", "/var", "/var/run", "/tmp", "/etc", "/proc", "/sys", "/dev"}
)
_MERGED = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def _holds_secrets(path: Path, hidden: Sequence[Path]) -> bool:
    """A folder that would expose a project's state or history: one holding a Theseus state
    folder or a git repository (a project root on ``sys.path``, as ``python -m`` puts the
    current folder there), or holding any of ``hidden``."""
    if any(h == path or h.is_relative_to(path) for h in hidden):
        return True
    return path.is_dir() and ((path / ".theseus").exists() or (path / ".git").exists())


def python_paths(hidden: Sequence[Path] = ()) -> list[Path]:
    """The Python installation and environment this process runs in, to expose read-only;
    never a folder holding a project's state or repository (see :func:`_holds_secrets`)."""
    hidden = [Path(h).resolve() for h in hidden]
    found: list[Path] = []
    candidates = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        str(Path(sys.executable).resolve().parent.parent),
        *[p for p in sys.path if p],
    ]
    for raw in candidates:
        path = Path(raw).resolve()
        if str(path) in FORBIDDEN_ROOTS or not path.exists() or _holds_secrets(path, hidden):
            continue
        if path.is_file():  # a zip on the import path: expose the file's folder's file
            found.append(path)
        elif not any(path == p or path.is_relative_to(p) for p in found if p.is_dir()):
            found = [p for p in found if not p.is_relative_to(path)]
            found.append(path)
    return sorted(set(found))


def _ancestors(paths: Iterable[Path]) -> list[Path]:
    """Every folder above ``paths`` (shallowest first), for bwrap to create world-readable:
    folders it makes on its own are mode 0700, which an unprivileged uid cannot enter."""
    seen: dict[Path, None] = {}
    for path in paths:
        for parent in reversed(path.parents):
            if parent != Path("/"):
                seen.setdefault(parent, None)
    return sorted(seen, key=lambda p: (len(p.parts), str(p)))


def bwrap_view(
    workspace: Path | Sequence[Path],
    extra_ro: Sequence[Path],
    *,
    tmp_bytes: int,
    hidden: Sequence[Path] = (),
) -> list[str]:
    """bwrap arguments building the view described above (mounts only, no namespaces).
    ``workspace`` is the one folder it may write, or several (a served worker's state
    paths; none at all for a read-only view); nothing under ``hidden`` is exposed."""
    writable = [workspace] if isinstance(workspace, Path) else list(workspace)
    args = ["--tmpfs", "/", "--ro-bind", "/usr", "/usr"]
    for name in _MERGED:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    args += ["--dev", "/dev", "--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys"]
    if Path("/sys").is_dir():
        args += ["--ro-bind", "/sys", "/sys"]
    args += ["--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    etc = [Path("/etc") / name for name in ETC_FILES if (Path("/etc") / name).exists()]
    readonly = [*python_paths(hidden), *(Path(p).resolve() for p in extra_ro)]
    readonly = [p for p in readonly if p.exists() and str(p) not in FORBIDDEN_ROOTS]
    binds = [*etc, *readonly, *writable]
    for folder in _ancestors(binds):
        if folder.parts[1] in ("usr", *_MERGED):
            continue
        args += ["--perms", "0755", "--dir", str(folder)]
    for path in etc:
        args += ["--ro-bind", str(path), str(path)]
    for path in readonly:
        if any(path.is_relative_to(w) or w.is_relative_to(path) for w in writable):
            continue  # in a writable folder (its bind covers it), or holding one
        args += ["--ro-bind", str(path), str(path)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    return args
