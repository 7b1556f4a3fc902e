"""The processes an example needs while it runs (``demo.json`` ``services``), started and stopped.

Each one gets a free port (``{port}`` in its argv and env), runs from the example's copy with
the demo's environment, and counts as started once that port accepts connections. What its
``env`` says (e.g. ``OPENAI_BASE_URL`` of a stand-in model server) is added to the
environment of everything the demo starts afterwards: the served agent and the traffic.
They are stopped (SIGTERM, then SIGKILL) when the demo ends, however it ends.
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
from collections.abc import Iterator
from pathlib import Path

from theseus._atomic import write_text_atomic
from theseus.demo.manifest import Service
from theseus.errors import DemoError
from theseus.paths import STATE_DIR

__all__ = ["env_file", "running_services", "services_env"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fill(text: str, port: int) -> str:
    return text.replace("{port}", str(port)).replace("{python}", sys.executable)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@contextlib.contextmanager
def running_services(
    folder: Path, services: list[Service], env: dict[str, str]
) -> Iterator[dict[str, str]]:
    """Start ``services`` in ``folder``; yields the environment additions they give."""
    added: dict[str, str] = {}
    started: list[tuple[Service, subprocess.Popen[bytes], Path]] = []
    try:
        for service in services:
            port = _free_port()
            log = folder / STATE_DIR / f"{service.name}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [_fill(arg, port) for arg in service.argv],
                    cwd=folder,
                    env={**env, **added},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append((service, process, log))
            deadline = time.monotonic() + service.start_timeout
            while not _listening(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
                    raise DemoError(
                        f"the example's {service.name} service did not start: {tail[0][:200]}",
                        hint=f"see {log}",
                    )
                time.sleep(0.05)
            added.update({key: _fill(value, port) for key, value in service.env.items()})
            write_text_atomic(env_file(folder), json.dumps(added))
        yield added
    finally:
        with contextlib.suppress(FileNotFoundError):
            env_file(folder).unlink()
        for _, process, _ in reversed(started):
            _stop(process)


def env_file(folder: Path) -> Path:
    """Where the running services' environment is kept, for every process the demo starts
    in ``folder`` (:func:`theseus.demo.live.demo_env` reads it)."""
    return folder / STATE_DIR / "demo-services.env.json"


def services_env(folder: Path) -> dict[str, str]:
    """The environment the running services give (empty when none run)."""
    try:
        data = json.loads(env_file(folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
