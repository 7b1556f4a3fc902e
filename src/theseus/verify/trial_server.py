"""A warm pytest parent inside the sandbox that forks one child per trial.

Most of a cold trial (~0.5 s) is starting an interpreter and importing pytest, its plugins
and the project; the tests themselves take milliseconds. This process does that once, and
then, for each trial request, forks a child from that pristine parent; the parent never runs
a test itself, so a child that hangs (killed past the trial's timeout) or crashes (reported
with its signal) cannot affect the parent or the next trial.

Two ways to run a trial in the child, the faster chosen whenever it is safe:

- **session** (the default): the parent goes on to configure one pytest session (options,
  plugins, conftests, the fixture manager: most of what a forked ``pytest.main`` still
  costs) and stops where collection would begin. Each child forgets every module of the
  workspace that is not a registered plugin (the project and its tests), so collecting again
  imports the candidate's text on disk, and runs the tests in that already configured
  session; the report plugin starts its per-trial state from the trial's environment
  (``theseus_begin_trial``). This is only safe while nothing configured holds on to project
  code loaded in the parent: the parent forgets the workspace's modules before it
  configures, so a conftest or plugin that imports the project at configure time shows in
  ``sys.modules``, and then the server runs every trial the second way.
- **main**: the child forgets the workspace's modules and runs a whole ``pytest.main``.

A project that starts threads at import time cannot be forked safely (a fork copies only
the calling thread, with whatever locks the others held); the parent detects that after
warming up and says ``unforkable``, and the caller falls back to cold runs.

Like the report plugin it is copied into the workspace and runs in the sandboxed
interpreter, so it imports nothing from Theseus. Protocol: one JSON object per line over
the socket-pair end it was given (its file descriptor is the first argument); ``{"op":
"trial", "args": [...], "env": {...}, "timeout": s, "output": path}`` -> ``{"returncode": n,
"timed_out": b, "duration": s, "mode": "session"|"main"}``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import inspect
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from typing import Any

LEARN_TIMEOUT_S = 120.0  # the one run of the suite that learns what the tests import
MAX_LEARNED = 20000  # module names passed on; a big project with its plugins has ~3000


def _in_workspace(module: Any, root: str) -> bool:
    path = getattr(module, "__file__", None)
    return isinstance(path, str) and os.path.abspath(path).startswith(root + os.sep)


def _forget_workspace_modules(root: str, keep: frozenset[str] = frozenset()) -> None:
    for name, module in list(sys.modules.items()):
        if name not in keep and name != "__main__" and _in_workspace(module, root):
            del sys.modules[name]
    importlib.invalidate_caches()


def _warm(args: list[str], learned: list[str]) -> str | None:
    """Import pytest, its plugins and the project once, and what the tests import while
    they run (``learned`` gets those names); why not forkable, or None."""
    import pytest

    known = _preloaded()
    if known is None:  # else the names include everything collecting would import
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            pytest.main(["--collect-only", "-q", *args])
    if threading.active_count() == 1:
        learned += _import_what_tests_import(args, known)
    if threading.active_count() > 1:
        names = ", ".join(t.name for t in threading.enumerate() if t is not threading.main_thread())
        return f"threads running after import ({names}): a fork would copy them half-way"
    # A failing test's report looks its source up with inspect.getmodule, whose first call
    # maps the file of every loaded module (80 ms here); done once in the parent, a child
    # only maps the modules it imported itself.
    inspect.getmodule(compile("", "<theseus-warm>", "exec"))
    return None


def _preloaded() -> list[str] | None:
    """The names an earlier server of this project learned (the host passes them in a file
    named by ``THESEUS_TRIAL_PRELOAD``), so this one need not run the suite to learn them."""
    path = os.environ.get("THESEUS_TRIAL_PRELOAD")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            names = json.load(handle)
    except (OSError, ValueError):
        return None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else None


def _import_what_tests_import(args: list[str], known: list[str] | None) -> list[str]:
    """Import in the parent the libraries the tests import only while they run (an SDK
    imported inside a fixture or a function: ``openai`` alone takes 1.3 s), so that no
    child imports them again; their names. Unless ``known`` names them already, a child
    runs the suite once on the project as it is now (the base: no candidate has been
    written yet) and names every module from outside the workspace it then had, in the
    order they were imported (so a later server can import them all instead of collecting);
    a run that left threads behind names none, since importing what started them would make
    the parent unforkable."""
    if known is not None:
        return _import_all(known)
    root = os.path.abspath(os.getcwd())
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        names: list[str] = []
        try:
            _forget_workspace_modules(root)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            import pytest

            pytest.main(["-q", *args])
            if threading.active_count() == 1:
                names = [
                    name
                    for name, module in list(sys.modules.items())
                    if name != "__main__" and not _in_workspace(module, root)
                ]
        finally:
            with contextlib.suppress(OSError):
                os.write(write_end, json.dumps(names[:MAX_LEARNED]).encode())
            os._exit(0)
    os.close(write_end)
    chunks, deadline = [], time.monotonic() + LEARN_TIMEOUT_S
    with contextlib.suppress(OSError):
        while (left := deadline - time.monotonic()) > 0 and select.select([read_end], [], [], left)[
            0
        ]:
            if not (chunk := os.read(read_end, 1 << 16)):
                break
            chunks.append(chunk)
    os.close(read_end)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # done (or out of time): it only needed to report
    os.waitpid(pid, 0)
    try:
        learned = json.loads(b"".join(chunks) or b"[]")
    except ValueError:
        return []
    return _import_all(
        [n for n in learned if isinstance(n, str)] if isinstance(learned, list) else []
    )


def _import_all(names: list[str]) -> list[str]:
    for name in names[:MAX_LEARNED]:
        if name not in sys.modules:
            with contextlib.suppress(BaseException):
                importlib.import_module(name)
    return names[:MAX_LEARNED]


def _freeze() -> None:
    # Everything alive now is the pristine parent's: the collector never needs to look at
    # it again, and pytest's unconfigure (which collects five times) stays cheap per child.
    gc.collect()
    gc.freeze()


def _redirect_output(path: str, also: list[int]) -> None:
    """The child's stdout and stderr (and ``also``: the descriptors pytest's capture restores
    between tests, which still point at the parent's) go to the trial's output file."""
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for fd in (1, 2, *also):
        with contextlib.suppress(OSError):
            os.dup2(out, fd)
    os.close(out)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)


def _wait(pid: int, started: float, timeout: float) -> tuple[int, bool]:
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
        time.sleep(0.001)
    return os.waitstatus_to_exitcode(status), timed_out


def _answer(code: int, timed_out: bool, started: float, mode: str) -> dict[str, Any]:
    duration = time.monotonic() - started
    return {"returncode": code, "timed_out": timed_out, "duration": duration, "mode": mode}


# -- main: a whole pytest.main per child -----------------------------------------------------


def _main_child(request: dict[str, Any], root: str, conn_fd: int) -> None:
    """In the forked child: a fresh view of the workspace, then one pytest session. The
    socket to the caller is closed first, so the code under test cannot write an answer."""
    code = 3
    with contextlib.suppress(OSError):
        os.close(conn_fd)
    try:
        _forget_workspace_modules(root)
        os.environ.update({str(k): str(v) for k, v in request.get("env", {}).items()})
        _redirect_output(request["output"], [])
        import pytest

        code = int(pytest.main(list(request.get("args", []))))
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as exc:  # report, never raise into the parent's loop
        with contextlib.suppress(Exception):
            print(f"theseus trial child: {type(exc).__name__}: {exc}", file=sys.stderr)
    os._exit(code)


def _main_trial(request: dict[str, Any], root: str, conn_fd: int) -> dict[str, Any]:
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _main_child(request, root, conn_fd)
    code, timed_out = _wait(pid, started, float(request.get("timeout", 60.0)))
    return _answer(code, timed_out, started, "main")


def _serve_main(stream: Any, root: str, conn_fd: int) -> None:
    for line in stream:
        request = json.loads(line)
        if request.get("op") != "trial":
            break
        stream.write((json.dumps(_main_trial(request, root, conn_fd)) + "\n").encode())


# -- session: one configured pytest session, collected and run in each child -----------------


class _SessionHost:
    """A pytest plugin: in the parent it stops the session where collection would begin and
    serves trials; in a child it lets collection and the run loop go on as usual."""

    def __init__(self, stream: Any, root: str, conn_fd: int, main_args: list[str]) -> None:
        self.stream, self.root, self.conn_fd, self.main_args = stream, root, conn_fd, main_args
        self.in_child = False
        self.request: dict[str, Any] = {}
        self.unsafe: str | None = None

    def _plugin_modules(self, config: Any) -> dict[str, Any]:
        modules = {}
        for plugin in config.pluginmanager.get_plugins():
            name = getattr(plugin, "__name__", None)
            if isinstance(name, str) and _in_workspace(plugin, self.root):
                modules[name] = plugin
        return modules

    def _loaded_at_configure(self, keep: frozenset[str]) -> list[str]:
        """Workspace modules that configuring pytest imported (the parent forgot them all
        first): a conftest or plugin that imports the project keeps the parent's copy."""
        return sorted(
            name
            for name, module in list(sys.modules.items())
            if name not in keep and name != "__main__" and _in_workspace(module, self.root)
        )

    def pytest_collection(self, session: Any) -> Any:
        if self.in_child:
            return None  # collect as usual: the child imports the candidate's text
        config = session.config
        plugins = self._plugin_modules(config)
        packages = {name.rsplit(".", depth)[0] for name in plugins for depth in range(1, 8)}
        keep = frozenset(plugins) | frozenset(packages)
        loaded = self._loaded_at_configure(keep)
        if loaded:
            shown = ", ".join(loaded[:3]) + (", ..." if len(loaded) > 3 else "")
            self.unsafe = f"configuring pytest imports project code ({shown})"
            return True  # the server answers every trial with a whole pytest.main instead
        capture = config.pluginmanager.getplugin("capturemanager")
        saved = []
        global_capture = getattr(capture, "_global_capturing", None)
        for part in (getattr(global_capture, "out", None), getattr(global_capture, "err", None)):
            fd = getattr(part, "targetfd_save", None)
            if isinstance(fd, int):
                saved.append(fd)
        _freeze()
        for line in self.stream:
            request = json.loads(line)
            if request.get("op") != "trial":
                break
            if "PYTEST_ADDOPTS" in request.get("env", {}):
                self._send(_main_trial(request, self.root, self.conn_fd))
                continue
            answer = self._trial(request, keep, saved, config)
            if answer is None:  # we are the child, set up for the trial: go on into pytest
                return None
            self._send(answer)
        return True

    def _send(self, answer: dict[str, Any]) -> None:
        self.stream.write((json.dumps(answer) + "\n").encode())

    def _trial(
        self, request: dict[str, Any], keep: frozenset[str], saved: list[int], config: Any
    ) -> dict[str, Any] | None:
        started = time.monotonic()
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            self.in_child = True
            with contextlib.suppress(OSError):
                os.close(self.conn_fd)
            _forget_workspace_modules(self.root, keep)
            os.environ.update({str(k): str(v) for k, v in request.get("env", {}).items()})
            _redirect_output(request["output"], saved)
            for plugin in config.pluginmanager.get_plugins():
                begin = getattr(plugin, "theseus_begin_trial", None)
                if callable(begin):
                    begin(config)
            return None
        code, timed_out = _wait(pid, started, float(request.get("timeout", 60.0)))
        return _answer(code, timed_out, started, "session")

    def pytest_runtestloop(self, session: Any) -> Any:
        return None if self.in_child else True


def _serve_session(stream: Any, root: str, conn_fd: int, args: list[str]) -> None:
    import pytest

    host = _SessionHost(stream, root, conn_fd, args)
    code = 3
    _forget_workspace_modules(root)  # what configuring imports again shows in sys.modules
    # The terminal reporter keeps the stdout it finds: descriptor 1, which is the null
    # device in the parent and the trial's output file in a child.
    sys.stdout.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    try:
        code = int(pytest.main(list(args), plugins=[host]))
    finally:
        if host.in_child:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    if host.unsafe is not None:
        print(f"theseus trial server: whole sessions per trial: {host.unsafe}", file=sys.stderr)
        _freeze()
        _serve_main(stream, root, conn_fd)


def main() -> int:
    conn = socket.socket(fileno=int(sys.argv[1]))  # our end of the caller's socket pair
    warm_args = json.loads(sys.argv[2])
    root = os.path.abspath(os.getcwd())
    learned: list[str] = []
    why_not = _warm(warm_args, learned)
    stream = conn.makefile("rwb", buffering=0)
    hello: dict[str, Any] = {"op": "ready", "pid": os.getpid(), "learned": learned}
    if why_not is not None:
        hello = {"op": "unforkable", "reason": why_not}
    stream.write((json.dumps(hello) + "\n").encode())
    if why_not is not None:
        return 0
    if os.environ.get("THESEUS_TRIAL_MODE") == "main":
        _freeze()
        _serve_main(stream, root, conn.fileno())
    else:
        _serve_session(stream, root, conn.fileno(), warm_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
