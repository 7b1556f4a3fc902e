"""Forked trials: one warm, sandboxed pytest parent per workspace; one fork per trial.

The host side of :mod:`theseus.verify.trial_server`. :class:`ForkedTrials` starts the
server inside the same sandbox a cold trial uses (``run_sandboxed``: the same view, uid,
seccomp filter, memory cgroup and limits; its whole life is one sandboxed run), talks to
it over one end of a socket pair passed into the sandbox, and hands each trial's outcome back in the shape
of a cold run. Whenever forking cannot be trusted it says so once and answers ``None``, and
the caller runs the trial cold: the command is not a plain pytest invocation, the project
starts threads at import time, the server did not come up, or it stopped answering.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import socket
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from theseus.verify.sandbox import Limits, SandboxResult, run_sandboxed

__all__ = ["ForkedResult", "ForkedTrials", "pytest_args"]

SERVER_FILE = "theseus_trial_server.py"
PRELOAD_FILE = "theseus_trial_preload.json"
LIFETIME_S = 6 * 3600.0  # a backstop: a search ends long before; close() stops it
START_TIMEOUT_S = 120.0
ANSWER_GRACE_S = 30.0


_LEARNED: dict[str, list[str]] = {}
"""Per project (:attr:`ForkedTrials._key`), what its tests import while they run, as the first trial server of
this process learned it: later servers (the next batch's search, the second worker) import
those modules while warming up instead of running the suite once more to learn them."""


@dataclass(frozen=True)
class ForkedResult:
    returncode: int
    output: str
    duration: float
    timed_out: bool
    mode: str = "session"  # how the child ran it: "session" (configured once) or "main"


def pytest_args(command: str) -> tuple[str, list[str]] | None:
    """(interpreter, pytest arguments) when ``command`` is a plain pytest invocation
    (``pytest ...``, ``py.test ...``, ``python -m pytest ...``); None for anything else
    (``make test``, pipes, environment assignments), which is run cold."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return None
    if not argv or any(token in ("|", "&&", "||", ";", ">", "<") for token in argv):
        return None
    head = Path(argv[0]).name
    if head in ("pytest", "py.test"):
        return "python", argv[1:]
    if head.startswith("python") and argv[1:3] == ["-m", "pytest"]:
        return argv[0], argv[3:]
    return None


class ForkedTrials:
    """A trial server for one workspace, started on first use and stopped by :meth:`close`."""

    def __init__(
        self,
        workspace: Path,
        command: str,
        env: Mapping[str, str],
        *,
        plugin_dir: Path,
        memory_mb: int = 2048,
    ) -> None:
        self.workspace = workspace
        self.env = dict(env)
        self.plugin_dir = plugin_dir
        self.memory_mb = memory_mb
        self.note: str | None = None  # why trials run cold, once it is known
        self.trials = 0
        parsed = pytest_args(command)
        self._parsed = parsed
        if parsed is None:
            self.note = f"forked trials need a plain pytest command, not {command!r}"
        self._sock: socket.socket | None = None
        self._stream: socket.SocketIO | None = None
        self._thread: threading.Thread | None = None
        self._result: SandboxResult | None = None
        self._lock = threading.Lock()
        self._key = self._project_key()

    @property
    def preloaded(self) -> bool:
        """Whether an earlier server of this project learned what the tests import, so this
        one warms up without running the suite (a trial through it is then soon possible)."""
        return self._key in _LEARNED

    def _project_key(self) -> str:
        """The project, as far as what its tests import goes: the interpreter and the
        workspace's top-level folders and Python and config files (each batch's workspace
        is a new folder, and its test command names that batch's replay module)."""
        interpreter = self._parsed[0] if self._parsed else ""
        kept = (".py", ".toml", ".ini", ".cfg")
        try:
            names = sorted(
                p.name
                for p in self.workspace.iterdir()
                if not p.name.startswith(".") and (p.is_dir() or p.name.endswith(kept))
            )
        except OSError:
            names = []
        return json.dumps([interpreter, names])

    @property
    def usable(self) -> bool:
        return self.note is None

    def start_in_background(self) -> None:
        """Start and warm the server now, on a thread, so the first trial does not wait for
        it (the repair engine does this while it runs the baseline and localises)."""
        if self.note is None:
            threading.Thread(
                target=self._start_locked, name="theseus-trials-start", daemon=True
            ).start()

    def _start_locked(self) -> None:
        with self._lock:
            if self.note is None:
                self._ensure_started()

    def run(self, env: Mapping[str, str], timeout: float) -> ForkedResult | None:
        """One trial in a forked child; None when it must run cold (see :attr:`note`)."""
        with self._lock:
            if self.note is not None or not self._ensure_started():
                return None
            output = self.plugin_dir / "trial.out"
            assert self._parsed is not None
            request = {
                "op": "trial",
                "args": self._parsed[1],
                "env": dict(env),
                "timeout": timeout,
                "output": str(output),
            }
            answer = self._ask(request, timeout + ANSWER_GRACE_S)
            if answer is None:
                return None
            self.trials += 1
            text = output.read_text(encoding="utf-8", errors="replace") if output.is_file() else ""
            code, duration = answer.get("returncode"), answer.get("duration")
            return ForkedResult(
                returncode=code if isinstance(code, int) else 3,
                output=text,
                duration=float(duration) if isinstance(duration, int | float) else 0.0,
                timed_out=bool(answer.get("timed_out")),
                mode=str(answer.get("mode", "main")),
            )

    def disable(self, why: str) -> None:
        """Run every later trial cold, for ``why`` (e.g. a fork and a cold run disagreed)."""
        with self._lock:
            self.note = why
            self._stop()

    def close(self) -> None:
        with self._lock:
            self._stop()

    # -- the server's life ---------------------------------------------------------------

    def _ensure_started(self) -> bool:
        if self._stream is not None:
            return True
        server = Path(__file__).with_name("trial_server.py").read_text(encoding="utf-8")
        (self.plugin_dir / SERVER_FILE).write_text(server, encoding="utf-8")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        assert self._parsed is not None
        interpreter, args = self._parsed
        argv = [interpreter, "-u", str(self.plugin_dir / SERVER_FILE), str(theirs.fileno())]
        argv.append(json.dumps(args))
        env = dict(self.env)
        known = _LEARNED.get(self._key)
        if known is not None:
            preload = self.plugin_dir / PRELOAD_FILE
            preload.write_text(json.dumps(known), encoding="utf-8")
            env["THESEUS_TRIAL_PRELOAD"] = str(preload)
        limits = Limits(timeout=LIFETIME_S, memory_mb=self.memory_mb)
        theirs.set_inheritable(True)

        def serve() -> None:
            try:
                self._result = run_sandboxed(
                    argv, self.workspace, limits, env=env, pass_fds=(theirs.fileno(),)
                )
            finally:
                theirs.close()

        self._thread = threading.Thread(target=serve, name="theseus-trials", daemon=True)
        self._thread.start()
        self._sock, self._stream = ours, socket.SocketIO(ours, "rwb")
        hello = self._read_line(START_TIMEOUT_S)
        if hello is None or hello.get("op") != "ready":
            reason = (hello or {}).get("reason") or self._server_said()
            self.note = f"forked trials are off: {reason}"
            self._stop()
            return False
        learned = hello.get("learned")
        if isinstance(learned, list) and self._key not in _LEARNED:
            _LEARNED[self._key] = [name for name in learned if isinstance(name, str)][:20000]
        return True

    def _ask(self, request: dict[str, object], wait: float) -> dict[str, object] | None:
        assert self._stream is not None
        try:
            self._stream.write((json.dumps(request) + "\n").encode())
        except OSError as exc:
            self.note = f"the trial server went away: {exc}"
            self._stop()
            return None
        answer = self._read_line(wait)
        if answer is None:
            self.note = f"the trial server stopped answering: {self._server_said()}"
            self._stop()
        return answer

    def _read_line(self, wait: float) -> dict[str, object] | None:
        assert self._sock is not None
        self._sock.settimeout(wait)
        buffer = b""
        try:
            while not buffer.endswith(b"\n"):
                chunk = self._sock.recv(65536)
                if not chunk:
                    return None
                buffer += chunk
        except OSError:
            return None
        try:
            value = json.loads(buffer)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _server_said(self) -> str:
        result = self._result
        if result is None:
            return "no answer"
        lines = (result.stderr or result.stdout or "").strip().splitlines()
        return (lines[-1] if lines else result.reason or f"exit {result.returncode}")[:300]

    def _stop(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(OSError):
                self._stream.write(b'{"op": "stop"}\n')
        for closable in (self._stream, self._sock):
            if closable is not None:
                with contextlib.suppress(OSError):
                    closable.close()
        self._stream = self._sock = None
        if self._thread is not None:
            self._thread.join(30)
            if self._thread.is_alive():
                print("theseus: the trial server did not stop within 30 s", file=sys.stderr)
            self._thread = None
