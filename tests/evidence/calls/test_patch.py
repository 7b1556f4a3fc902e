"""Patching: once, lazily, for the libraries a process uses, including ones it imports
after the first task; and tasks running at the same time keep their calls apart."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import httpx

import theseus

from .conftest import FakeAPI, tasks

LATE_IMPORT = """
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"path": self.path}).encode())
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}"

import theseus
from theseus.evidence import sdk
from theseus.evidence.calls import patch
from theseus.evidence.store import EvidenceStore
sdk.configure(store=sys.argv[1])

@theseus.task
def first():
    return 1

@theseus.task
def second():
    import requests  # imported only now, inside a task, on first use
    return requests.get(url + "/late").json()["path"]

assert "requests" not in sys.modules and "httpx" not in sys.modules
first()
assert patch.patched() == frozenset(), patch.patched()
assert second() == "/late"
assert "requests" in patch.patched()
sdk._writer.close_all()
with EvidenceStore(sdk._settings["store"]) as store:
    calls = {r.function.rsplit(":", 1)[-1]: r.calls for r in store.tasks()}
assert calls["first"] == [], calls
[late] = calls["second"]
assert late.target == "GET " + url + "/late", late
print("ok")
"""


def test_a_library_imported_after_the_first_task_is_recorded(tmp_path: Path) -> None:
    script = tmp_path / "late.py"
    script.write_text(textwrap.dedent(LATE_IMPORT))
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "e.db")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_concurrent_tasks_keep_their_own_calls(api: FakeAPI, store: Path) -> None:
    @theseus.task
    async def on_the_loop(name: str) -> str:
        async with httpx.AsyncClient() as client:
            for _ in range(3):
                await client.get(f"{api.url}/{name}")
                await asyncio.sleep(0)
        return name

    @theseus.task
    def in_a_thread(name: str) -> str:
        for _ in range(3):
            httpx.get(f"{api.url}/{name}")
        return name

    async def both() -> list[str]:
        return list(await asyncio.gather(on_the_loop("a"), on_the_loop("b")))

    threads = [threading.Thread(target=in_a_thread, args=(n,)) for n in ("c", "d")]
    for thread in threads:
        thread.start()
    assert asyncio.run(both()) == ["a", "b"]
    for thread in threads:
        thread.join()
    for record in tasks(store):
        name = record.output
        assert [c.target.rsplit("/", 1)[-1] for c in record.calls] == [name] * 3, record.calls
        assert [c.seq for c in record.calls] == [0, 1, 2]
