"""Candidate code tries to get out of the sandbox, as it did on the landed code.

Each attack runs the way verification runs candidate code (``run_sandboxed`` with the
best backend, bubblewrap here) and asserts it is contained: host secrets and home folders
are not there, kernel settings are read-only, host unix sockets cannot be reached, the
command is not root, dangerous system calls are refused, /tmp is private and bounded, and
the backend that isolates nothing refuses to run at all.
"""

from __future__ import annotations

import os
import socket
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from theseus.errors import SandboxError
from theseus.verify.sandbox import Limits, run_sandboxed
from theseus.verify.sandbox.backends import probe

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not probe("bwrap").available, reason=probe("bwrap").reason),
]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the attack needs host root to set up")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder


def attack(ws: Path, code: str, **kwargs: object) -> str:
    """Run ``code`` as candidate code; what it printed (it reports, never raises)."""
    result = run_sandboxed(
        ["python", "-c", textwrap.dedent(code)], ws, Limits(timeout=60), backend="bwrap", **kwargs
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_host_secrets_are_not_there(ws: Path) -> None:
    seen = attack(
        ws,
        """
        import os
        for path in ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/root/.bash_history",
                     "/root/.ssh", "/home", "/run", "/var/run", "/var/lib", "/etc/ssh",
                     "/etc/ssl/private"):
            print(path, os.path.exists(path))
        """,
    )
    assert all(line.endswith("False") for line in seen.splitlines()), seen


@pytest.mark.skipif(not Path("/etc/ssl/certs").is_dir(), reason="no CA certificates here")
def test_the_public_ca_certificates_are_there_for_tls_clients(ws: Path) -> None:
    # an agent calling a model over HTTPS needs them; SSL_CERT_DIR often points here
    seen = attack(
        ws,
        """
        import os, ssl
        print(os.path.isdir("/etc/ssl/certs") and bool(os.listdir("/etc/ssl/certs")))
        ssl.create_default_context(capath="/etc/ssl/certs")
        print("tls ok")
        """,
    )
    assert seen.splitlines() == ["True", "tls ok"]


@as_root
def test_root_home_is_not_visible_but_for_the_python_installation(ws: Path) -> None:
    secret = Path("/root") / f"theseus-secret-{uuid.uuid4().hex}"
    secret.write_text("top secret")
    try:
        seen = attack(
            ws,
            f"""
            import os
            print(os.path.exists({str(secret)!r}))
            print(sorted(os.listdir("/root")) if os.path.isdir("/root") else [])
            """,
        )
    finally:
        secret.unlink()
    exists, listing = seen.splitlines()
    assert exists == "False"
    assert secret.name not in listing


def test_kernel_settings_are_read_only(ws: Path) -> None:
    seen = attack(
        ws,
        """
        for path in ("/proc/sys/kernel/ns_last_pid", "/proc/sys/vm/drop_caches",
                     "/proc/sysrq-trigger", "/sys/kernel/mm/transparent_hugepage/enabled"):
            try:
                with open(path, "w") as handle:
                    handle.write("1")
                print(path, "WRITTEN")
            except OSError as exc:
                print(path, type(exc).__name__)
        """,
    )
    assert "WRITTEN" not in seen, seen


@pytest.fixture
def host_socket() -> Iterator[Path]:
    folder = Path("/run") if os.access("/run", os.W_OK) else Path("/tmp")
    path = folder / f"theseus-test-{uuid.uuid4().hex[:8]}.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    try:
        yield path
    finally:
        server.close()
        path.unlink(missing_ok=True)


def test_host_unix_sockets_cannot_be_reached(ws: Path, host_socket: Path) -> None:
    seen = attack(
        ws,
        f"""
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect({str(host_socket)!r})
            print("CONNECTED")
        except OSError as exc:
            print(type(exc).__name__)
        """,
    )
    assert seen != "CONNECTED"


@as_root
def test_the_command_is_not_root(ws: Path, tmp_path: Path) -> None:
    private = tmp_path / "readable-only-by-root"
    private.mkdir()
    (private / "key").write_text("secret")
    (private / "key").chmod(0o600)
    seen = attack(
        ws,
        f"""
        import os
        print(os.getuid(), os.geteuid())
        try:
            print(open({str(private / "key")!r}).read())
        except OSError as exc:
            print(type(exc).__name__)
        print(open("/proc/self/status").read().split("CapEff:")[1].split()[0])
        """,
        extra_ro_paths=[private],
    )
    ids, content, caps = seen.splitlines()
    assert ids == "65534 65534"
    assert content == "PermissionError"
    assert int(caps, 16) == 0


def test_dangerous_system_calls_are_refused(ws: Path) -> None:
    seen = attack(
        ws,
        """
        import ctypes, errno
        libc = ctypes.CDLL(None, use_errno=True)
        calls = {
            "ptrace": lambda: libc.ptrace(0, 0, None, None),          # PTRACE_TRACEME
            "unshare": lambda: libc.unshare(0x10000000),             # CLONE_NEWUSER
            "mount": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
            "keyctl": lambda: libc.syscall(250, 0, 0, 0, 0, 0),      # keyctl(GET_KEYRING_ID)
            "bpf": lambda: libc.syscall(321, 0, None, 0),
            "perf_event_open": lambda: libc.syscall(298, None, 0, -1, -1, 0),
        }
        for name, call in calls.items():
            result = call()
            print(name, result, errno.errorcode.get(ctypes.get_errno(), "0"))
        """,
    )
    for line in seen.splitlines():
        _name, result, code = line.split()
        assert result == "-1" and code == "EPERM", line


def test_tmp_is_private_and_bounded(ws: Path) -> None:
    marker = Path("/tmp") / f"theseus-host-{uuid.uuid4().hex}"
    marker.write_text("host")
    code = f"""
        import os
        print(os.path.exists({str(marker)!r}))
        try:
            with open("/tmp/fill", "wb") as handle:
                for _ in range(64):
                    handle.write(b"x" * (1 << 20))
            print("FILLED")
        except OSError as exc:
            print(type(exc).__name__)
    """
    try:
        result = run_sandboxed(
            ["python", "-c", textwrap.dedent(code)], ws, Limits(timeout=60, tmp_mb=16),
            backend="bwrap",
        )  # fmt: skip
    finally:
        marker.unlink()
    assert result.stdout.split() == ["False", "OSError"], result.stdout + result.stderr


def test_the_backend_that_isolates_nothing_refuses_to_run(ws: Path) -> None:
    with pytest.raises(SandboxError, match="contains nothing"):
        run_sandboxed(["true"], ws, backend="rlimits")


def test_a_project_root_on_the_import_path_is_not_exposed(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m theseus`` puts the current folder (the project) on sys.path; binding the
    Python environment read-only must not bind the project's state and history with it."""
    project = tmp_path / "project"
    (project / ".theseus").mkdir(parents=True)
    token = project / ".theseus" / "admin.token"
    token.write_text("secret")
    (project / ".git").mkdir()
    monkeypatch.syspath_prepend(str(project))
    seen = attack(ws, f"import os; print(os.path.exists({str(token)!r}))")
    assert seen == "False"
