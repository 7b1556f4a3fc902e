"""The demo's live parts: the example agent served by ``theseus serve``, traffic over HTTP.

The demo runs the product the way a user would: the agent is served by the real supervisor
in its own process (``python -m theseus serve`` in the demo's folder), customers talk to it
over HTTP, the workers record exceptions and the traffic's oracle reports wrong answers
against the task ids the service returns. Evolution hot-swaps each fix into that service
while a lighter stream of traffic keeps flowing, and the traffic itself counts every request
the service failed to answer (``dropped``), so the demo's "no request dropped" is measured,
not assumed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from theseus.config import CONFIG_FILE, load_settings
from theseus.demo.services import services_env
from theseus.errors import LiveError
from theseus.paths import DEFAULT_EVIDENCE_STORE, STATE_DIR
from theseus.runtime import admin_headers, load_admin_token

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
TRAFFIC_TIMEOUT = 300.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the service binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def demo_env(folder: Path) -> dict[str, str]:
    """The environment of the demo's child processes: the folder's evidence store, no
    stray PYTHONPATH from the caller, no bytecode files in the agent's repository, and what
    the example's running services give (:mod:`theseus.demo.services`)."""
    env = dict(os.environ)
    env.update(services_env(folder))
    env.update(
        THESEUS_EVIDENCE_DB=str(folder / DEFAULT_EVIDENCE_STORE),
        THESEUS_RECORD="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("PYTHONPATH", None)
    return env


@dataclass
class LiveService:
    """A running ``theseus serve`` on the demo's folder."""

    folder: Path
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, folder: Path, port: int, *, timeout: float = START_TIMEOUT) -> LiveService:
        """Start the service on ``port`` and wait until /health answers."""
        log = folder / STATE_DIR / "logs" / "serve.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "theseus",
                    "serve",
                    "--port",
                    str(port),
                    "--stop-with",
                    str(os.getpid()),
                ],
                cwd=folder,
                env=demo_env(folder),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = cls(folder, f"http://127.0.0.1:{port}", process, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise LiveError(
                    f"`theseus serve` exited with status {process.returncode}: {service.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{service.url}/health", timeout=2.0).status_code == 200:
                    return service
            time.sleep(0.2)
        service.stop()
        raise LiveError(
            f"`theseus serve` did not answer on {service.url} within {timeout:g} s",
            hint=f"see {log}",
        )

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "no log"
        return " | ".join(text.strip().splitlines()[-lines:]) or "no output"

    def get(self, path: str) -> dict[str, Any]:
        """GET a JSON endpoint of the service with its admin credential ({} when it does
        not answer)."""
        token = load_admin_token(load_settings(self.folder / CONFIG_FILE, check_globs=False))
        try:
            body = httpx.get(f"{self.url}{path}", headers=admin_headers(token), timeout=5.0).json()
        except (httpx.HTTPError, ValueError):
            return {}
        return body if isinstance(body, dict) else {}

    def stop(self) -> int | None:
        """Stop the service the way Ctrl-C would (it stops its workers), then make sure."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


@contextlib.contextmanager
def serving(folder: Path, port: int) -> Iterator[LiveService]:
    """The service for the duration of a ``with`` block, stopped whatever happens."""
    service = LiveService.start(folder, port)
    try:
        yield service
    finally:
        service.stop()


def traffic_argv(url: str | None, *, seed: int, sessions: int | None = None,
                 seconds: float | None = None, concurrency: int = 1,
                 rate: float | None = None) -> list[str]:  # fmt: skip
    """``python -m traffic`` with the demo's options (in-process when ``url`` is None)."""
    argv = [sys.executable, "-m", "traffic", "--seed", str(seed), "--json", "--progress"]
    if url is not None:
        argv += ["--url", url, "--concurrency", str(concurrency)]
    if sessions is not None:
        argv += ["--sessions", str(sessions)]
    if seconds is not None:
        argv += ["--seconds", f"{seconds:g}"]
    if rate is not None:
        argv += ["--rate", f"{rate:g}"]
    return argv


def run_traffic(
    folder: Path, argv: list[str], on_progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Run the example's traffic generator to the end; its JSON outcome."""
    proc = subprocess.Popen(
        argv, cwd=folder, env=demo_env(folder), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None and proc.stdout is not None
    other = _follow(proc.stderr, on_progress)
    output = proc.stdout.read()
    code = proc.wait(timeout=TRAFFIC_TIMEOUT)
    return _outcome(code, output, other)


def _follow(stream: IO[str], on_progress: Callable[[int, int], None] | None) -> list[str]:
    other: list[str] = []
    for line in stream:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "progress":
            if on_progress is not None:
                on_progress(int(parts[1]), int(parts[2]))
        elif parts:
            other.append(line.rstrip())
    return other


def _outcome(code: int, output: str, other: list[str]) -> dict[str, Any]:
    if code != 0:
        tail = " | ".join(other[-3:]) or "no output"
        raise LiveError(f"the traffic generator failed with exit status {code}: {tail}")
    try:
        counts: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise LiveError(f"the traffic generator printed no result: {output[-200:]!r}") from exc
    return counts


@dataclass
class BackgroundTraffic:
    """Traffic that keeps flowing while evolution runs; ``stop`` ends it and returns its
    outcome (requests, dropped, versions that answered)."""

    folder: Path
    argv: list[str]
    process: subprocess.Popen[str] | None = None
    outcome: dict[str, Any] = field(default_factory=dict)

    def start(self) -> BackgroundTraffic:
        self.process = subprocess.Popen(
            self.argv, cwd=self.folder, env=demo_env(self.folder), stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        return self

    def stop(self) -> dict[str, Any]:
        proc = self.process
        if proc is None:
            return {}
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            raise LiveError("the background traffic did not stop on SIGTERM") from None
        self.outcome = _outcome(proc.returncode, output or "", [])
        return self.outcome
