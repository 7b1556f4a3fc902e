"""The system calls a sandboxed command may not make, as a seccomp filter for bubblewrap.

Namespaces and a read-only view contain what a command can *see*; the kernel's attack
surface is what it can *call*. The filter refuses (EPERM) what no test run needs and what
escapes or attacks the host: tracing other processes, mounting and namespace games, kernel
keyrings, eBPF, perf events, kernel modules, reboot and kexec, swap, quotas and the kernel
log. Everything else is allowed, so ordinary programs run unchanged. Calls of another ABI
(32-bit syscalls on x86-64) are killed by libseccomp's bad-architecture action, so the
filter cannot be sidestepped that way.

The filter is built with libseccomp (through ``pyseccomp``) once per process and handed to
bubblewrap as a compiled BPF program on a pipe (``bwrap --seccomp FD``).
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

__all__ = ["DENIED_SYSCALLS", "SeccompUnavailable", "filter_program", "seccomp_pipe"]

DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "kexec_load",
    "kexec_file_load",
    "swapon",
    "swapoff",
    "quotactl",
    "syslog",
    "acct",
    "iopl",
    "ioperm",
    "open_by_handle_at",
    "userfaultfd",
    "lookup_dcookie",
    "vhangup",
    "personality",
)


class SeccompUnavailable(Exception):
    """libseccomp (or its Python binding) is not available here; the reason is the text."""


@functools.lru_cache(maxsize=1)
def filter_program() -> bytes:
    """The compiled BPF program (raises SeccompUnavailable when it cannot be built)."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:  # the binding, or libseccomp.so.2 itself
        raise SeccompUnavailable(f"libseccomp is not available: {exc}") from None
    try:
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (RuntimeError, ValueError, OSError):
                continue  # not a system call on this architecture
        with tempfile.TemporaryFile() as compiled:  # libseccomp writes to a file descriptor
            rules.export_bpf(compiled)
            compiled.seek(0)
            program = compiled.read()
    except Exception as exc:
        raise SeccompUnavailable(f"the seccomp filter cannot be built: {exc}") from None
    if not program:
        raise SeccompUnavailable("libseccomp produced an empty filter")
    return program


def seccomp_pipe() -> int:
    """The read end of a pipe holding the program, for ``bwrap --seccomp FD``; the caller
    closes it once the command has started."""
    program = filter_program()
    read, write = os.pipe()
    try:
        os.write(write, program)  # a few hundred bytes: far below the pipe's buffer
    finally:
        os.close(write)
    return read
