"""A worker process: runs exactly one code version of the agent, one call at a time.

Started by the supervisor as ``python -m theseus.runtime.worker --root DIR --entrypoint
mod:fn [--migrate mod:fn] [--python-path P ...]`` with ``THESEUS_CODE_VERSION`` set. It loads
the agent once, says ``ready``, then answers framed requests on its inherited stdin/stdout.

Why a separate process per version: a crash, a leak or a bad patch in agent code cannot
corrupt the supervisor or another version. Why it dies with the supervisor: it asks the
kernel for SIGKILL when its parent exits (PR_SET_PDEATHSIG) and exits on EOF of its request
pipe, so no worker outlives the service that started it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import os
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from theseus._jsonvalue import to_json_safe
from theseus.runtime.cpuwait import RunQueueClock
from theseus.runtime.protocol import read_frame_fd, write_frame_fd

PR_SET_PDEATHSIG = 1


def die_with(parent: int | None) -> None:
    """Ask Linux to SIGKILL us when our parent goes away, however it goes; exit at once if
    ``parent`` (its pid, when known) is already gone."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the EOF on stdin still ends us
        return
    if parent is not None and os.getppid() != parent:
        os._exit(0)  # the parent died before prctl took effect


def _load(spec: str) -> Callable[..., Any]:
    module_name, _, attr = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec} is not callable")
    return target  # type: ignore[no-any-return]


def error_info(exc: BaseException) -> dict[str, Any]:
    """An exception as plain data: type, message and frames (outermost first). No formatted
    traceback: the supervisor reports type and message, and the evidence SDK keeps the full
    traceback of the agent's own failures (formatting one costs more than the call)."""
    frames = [
        {"file": f.filename, "line": f.lineno or 0, "function": f.name, "code": f.line or ""}
        for f in traceback.extract_tb(exc.__traceback__)
    ]
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return {
        "type": name,
        "message": str(exc),
        "frames": frames,
    }


def is_idempotent(fn: Callable[..., Any]) -> bool:
    """Whether ``@theseus.task(idempotent=True)`` marked the entrypoint."""
    meta = getattr(fn, "__theseus_task__", None)
    return bool(getattr(meta, "idempotent", False))


class Agent:
    """The loaded agent: its entrypoint and optional migrate hook."""

    def __init__(self, handle: Callable[..., Any], migrate: Callable[..., Any] | None) -> None:
        self.handle = handle
        self.migrate = migrate
        self.clock = RunQueueClock()  # opened here, in the thread that runs every call
        self.calls = 0

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one message; the reply says which phase failed when one did, and which task id
        the evidence SDK recorded the call under (None when no ``@task`` took it)."""
        state = request.get("state") or {}
        self.calls += 1
        started, queued_before = time.perf_counter(), self.clock.waited_ns()
        migrated = False
        source = request.get("migrate_from")
        if source is not None and self.migrate is not None:
            try:
                state = self.migrate(state, source, request.get("version"))
                if not isinstance(state, dict):
                    raise TypeError(f"migrate returned {type(state).__name__}, expected a dict")
            except Exception as exc:
                return {"ok": False, "phase": "migrate", "error": error_info(exc)}
            migrated = True
        assigned: Any = None
        try:
            with _evidence(request.get("session"), request.get("task_id")) as assigned:
                reply = self.handle(request.get("message"), state)
        except Exception as exc:
            return {
                "ok": False,
                "phase": "handle",
                "error": error_info(exc),
                "task_id": _taken(assigned),
            }
        return {
            "ok": True,
            "reply": to_json_safe(reply),
            "state": to_json_safe(state),
            "migrated": migrated,
            "task_id": _taken(assigned),
            "duration_ms": (time.perf_counter() - started) * 1000.0,
            "cpu_wait_ms": (self.clock.waited_ns() - queued_before) / 1e6,
            "calls": self.calls,
        }


def _evidence(
    session_id: str | None, task_id: str | None
) -> contextlib.AbstractContextManager[Any]:
    """Tell the evidence SDK (if the agent uses it) which session this call belongs to and
    which task id the supervisor assigned it; the block yields the SDK's ``AssignedTask``
    (None without the SDK). A malformed id cannot come from our own supervisor; should one
    arrive, the call runs under a fresh one, which the response names."""
    sdk = sys.modules.get("theseus.evidence.sdk")
    if sdk is None:
        return contextlib.nullcontext()
    try:
        return sdk.session(session_id, task_id=task_id)  # type: ignore[no-any-return]
    except Exception as exc:
        print(f"theseus-worker: replacing the assigned task id: {exc}", file=sys.stderr)
        return sdk.session(session_id, task_id=uuid.uuid4().hex)  # type: ignore[no-any-return]


def _taken(assigned: Any) -> str | None:
    """The id the SDK recorded the call under, when a ``@task`` took the assigned one."""
    if assigned is None or not getattr(assigned, "taken", False):
        return None
    task_id = getattr(assigned, "task_id", None)
    return task_id if isinstance(task_id, str) else None


def serve(
    agent: Agent,
    in_fd: int,
    out_fd: int,
    version: str,
    idempotent: bool,
    imported: list[str] | None = None,
) -> None:
    """Answer requests until the supervisor closes the pipe or says stop. ``ready`` names
    the modules the agent imported from outside its own code, which a warm parent for the
    next version preloads (see :mod:`theseus.runtime.zygote`)."""
    write_frame_fd(
        out_fd,
        {
            "op": "ready",
            "pid": os.getpid(),
            "version": version,
            "idempotent": idempotent,
            "has_migrate": agent.migrate is not None,
            "imported": imported or [],
        },
    )
    while True:
        try:
            request = read_frame_fd(in_fd)
        except EOFError:
            return
        op = request.get("op")
        if op == "stop":
            return
        if op == "ping":
            response: dict[str, Any] = {"ok": True, "pong": True}
        elif op == "call":
            response = agent.call(request)
            recorder = sys.modules.get("theseus.evidence.recorder")  # loaded with the SDK
            if recorder is not None and recorder.relaying():
                response["evidence"] = recorder.take_relayed()
        else:
            response = {
                "ok": False,
                "phase": "protocol",
                "error": {"type": "ProtocolError", "message": f"unknown op {op!r}"},
            }
        response["id"] = request.get("id")
        write_frame_fd(out_fd, response)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theseus-worker")
    parser.add_argument("--root", required=True)
    parser.add_argument("--entrypoint", required=True)
    parser.add_argument("--migrate", default=None)
    parser.add_argument("--python-path", action="append", default=[])
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    expected = os.environ.get("THESEUS_SUPERVISOR_PID")
    die_with(int(expected) if expected else None)
    # Keep the protocol on private descriptors so a print() in agent code cannot corrupt it.
    in_fd, out_fd = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    return run(in_fd, out_fd, args.root, args.entrypoint, args.migrate, args.python_path)


def run(
    in_fd: int,
    out_fd: int,
    root_dir: str,
    entrypoint: str,
    migrate_spec: str | None,
    python_path: list[str],
) -> int:
    """Load the agent from ``root_dir`` and serve it on the two descriptors; the exit code.
    Shared by a cold worker (:func:`main`) and one forked from a warm parent
    (:mod:`theseus.runtime.zygote`)."""
    root = Path(root_dir).resolve()
    os.chdir(root)
    own = [root, *((root / entry).resolve() for entry in python_path or ["."])]
    for entry in reversed(own[1:]):
        sys.path.insert(0, str(entry))
    _forget_shadowed(own)
    version = os.environ.get("THESEUS_CODE_VERSION", "unknown")
    try:
        handle = _load(entrypoint)
        migrate = _load(migrate_spec) if migrate_spec else None
    except Exception as exc:
        write_frame_fd(out_fd, {"op": "load_failed", "error": error_info(exc)})
        return 3
    agent = Agent(handle, migrate)
    serve(agent, in_fd, out_fd, version, is_idempotent(handle), outside_modules(own))
    return 0


def _forget_shadowed(own: list[Path]) -> None:
    """Drop preloaded modules that the agent's own code shadows (a top-level ``name.py`` or
    package of the same name), so its import finds its own file as in a cold process."""
    mine: set[str] = set()
    for folder in own:
        with contextlib.suppress(OSError):
            for path in folder.iterdir():
                if path.suffix == ".py":
                    mine.add(path.stem)
                elif (path / "__init__.py").is_file():
                    mine.add(path.name)
    mine -= {"theseus"}  # the runtime serving it is never the agent's to replace
    for name in [n for n in sys.modules if n.partition(".")[0] in mine]:
        file = getattr(sys.modules[name], "__file__", None)
        if not (isinstance(file, str) and any(Path(file).is_relative_to(f) for f in own)):
            del sys.modules[name]


def outside_modules(own: list[Path], limit: int = 4000) -> list[str]:
    """Names of loaded modules whose file is not under ``own`` (the agent's code folders):
    the environment's part of what the agent imports, safe to import before its code."""
    prefixes = tuple(f"{folder}{os.sep}" for folder in own)
    names = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name == "__main__" or not isinstance(file, str):
            continue
        if not os.path.abspath(file).startswith(prefixes):
            names.append(name)
    return sorted(names)[:limit]


if __name__ == "__main__":
    sys.exit(main())
