"""A warm pytest parent inside the sandbox that forks one child per trial.

Most of a cold trial (~0.5 s) is starting an interpreter and importing pytest, its plugins
and the project; the tests themselves take milliseconds. This process does that once: it
runs a collect-only session of the project's tests (which imports pytest, every plugin and
the project), then, for each trial request, forks a child from that pristine parent. The
child forgets every module that lives in the workspace (the project, its tests and
conftests, the report plugin), so the candidate's text on disk is what it imports, runs
``pytest.main`` with the trial's arguments and environment, and exits with pytest's code.
A child that hangs past the trial's timeout is killed; one that crashes is reported with
its signal; neither can affect the parent or the next trial, because the parent never runs
a test itself.

A project that starts threads at import time cannot be forked safely (a fork copies only
the calling thread, with whatever locks the others held); the parent detects that after
warming up and says ``unforkable``, and the caller falls back to cold runs.

Like the report plugin it is copied into the workspace and runs in the sandboxed
interpreter, so it imports nothing from Theseus. Protocol: one JSON object per line over
the socket-pair end it was given (its file descriptor is the first argument); ``{"op": "trial", "args": [...], "env": {...},
"timeout": s, "output": path}`` -> ``{"returncode": n, "timed_out": b, "duration": s}``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import signal
import socket
import sys
import threading
import time
from typing import Any


def _in_workspace(module: Any, root: str) -> bool:
    path = getattr(module, "__file__", None)
    return isinstance(path, str) and os.path.abspath(path).startswith(root + os.sep)


def _forget_workspace_modules(root: str) -> None:
    for name, module in list(sys.modules.items()):
        if _in_workspace(module, root):
            del sys.modules[name]
    importlib.invalidate_caches()


def _warm(args: list[str]) -> str | None:
    """Import pytest, its plugins and the project once; why not forkable, or None."""
    import pytest

    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        pytest.main(["--collect-only", "-q", *args])
    if threading.active_count() > 1:
        names = ", ".join(t.name for t in threading.enumerate() if t is not threading.main_thread())
        return f"threads running after import ({names}): a fork would copy them half-way"
    # Everything alive now is the pristine parent's: the collector never needs to look at
    # it again, and pytest's unconfigure (which collects five times) stays cheap per child.
    gc.collect()
    gc.freeze()
    return None


def _child(request: dict[str, Any], root: str, conn_fd: int) -> None:
    """In the forked child: a fresh view of the workspace, then one pytest session. The
    socket to the caller is closed first, so the code under test cannot write an answer."""
    code = 3
    with contextlib.suppress(OSError):
        os.close(conn_fd)
    try:
        _forget_workspace_modules(root)
        os.environ.update({str(k): str(v) for k, v in request.get("env", {}).items()})
        out = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        import pytest

        code = int(pytest.main(list(request.get("args", []))))
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as exc:  # report, never raise into the parent's loop
        with contextlib.suppress(Exception):
            print(f"theseus trial child: {type(exc).__name__}: {exc}", file=sys.stderr)
    os._exit(code)


def _trial(request: dict[str, Any], root: str, conn_fd: int) -> dict[str, Any]:
    started = time.monotonic()
    timeout = float(request.get("timeout", 60.0))
    pid = os.fork()
    if pid == 0:
        _child(request, root, conn_fd)
    timed_out = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - started > timeout:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.002)
    code = os.waitstatus_to_exitcode(status)
    return {"returncode": code, "timed_out": timed_out, "duration": time.monotonic() - started}


def main() -> int:
    conn = socket.socket(fileno=int(sys.argv[1]))  # our end of the caller's socket pair
    warm_args = json.loads(sys.argv[2])
    root = os.path.abspath(os.getcwd())
    why_not = _warm(warm_args)
    stream = conn.makefile("rwb", buffering=0)
    hello: dict[str, Any] = {"op": "ready", "pid": os.getpid()}
    if why_not is not None:
        hello = {"op": "unforkable", "reason": why_not}
    stream.write((json.dumps(hello) + "\n").encode())
    if why_not is not None:
        return 0
    for line in stream:
        request = json.loads(line)
        if request.get("op") != "trial":
            break
        answer = _trial(request, root, conn.fileno())
        stream.write((json.dumps(answer) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
