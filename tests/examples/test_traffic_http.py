"""The example's traffic over HTTP against the real service, and the pieces that pace it.

The service is the real one: a git copy of the example (as the demo makes it), a Supervisor
with its worker processes, the FastAPI app under uvicorn on a free local port. The traffic
is the real ``python -m traffic`` in the copy's folder, reporting into the copy's store.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from theseus.config import load_settings
from theseus.demo import prepare_workdir
from theseus.evidence.store import EvidenceStore
from theseus.runtime import failures
from theseus.runtime.http import create_app
from theseus.runtime.supervisor import Supervisor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_agent"
SEED = 3  # 20 sessions of seed 3 hold both wrong answers and exceptions


pytestmark = pytest.mark.usefixtures("example_on_path")


class Service:
    """The copy served by a real Supervisor + uvicorn in a thread of this process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.settings = load_settings(folder / "theseus.toml")
        env = {**os.environ, "THESEUS_RECORD": "1"}  # this module turns it off here
        self.sup = Supervisor(self.settings, env=env)
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.sup, admin_token=None, start_ref="HEAD"),
                host="127.0.0.1",
                port=0,
                log_level="warning",
                access_log=False,
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="service", daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 90
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "service did not start"
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str, str]]:
    folder, commit = prepare_workdir(tmp_path_factory.mktemp("served") / "agent", EXAMPLE)
    service = Service(folder)
    url = service.start()
    try:
        yield service, url, commit
    finally:
        service.stop()


def traffic(folder: Path, *args: str, record: bool = True) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["THESEUS_RECORD"] = "1" if record else "0"
    env["THESEUS_EVIDENCE_DB"] = str(folder / ".theseus" / "evidence.db")
    return subprocess.Popen(
        [sys.executable, "-m", "traffic", "--json", *args],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def outcome(proc: subprocess.Popen[str], timeout: float = 120) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-2000:]
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


# -- against the real service ----------------------------------------------------------------


@pytest.mark.e2e
def test_http_traffic_judges_like_in_process_and_reports_against_recorded_tasks(
    served: tuple[Service, str, str],
) -> None:
    service, url, commit = served
    folder = service.folder
    over_http = traffic(folder, "--url", url, "--sessions", "20", "--seed", str(SEED),
                        "--concurrency", "2")  # fmt: skip
    here = outcome(traffic(folder, "--sessions", "20", "--seed", str(SEED), "--no-report",
                           record=False))  # fmt: skip
    got = outcome(over_http)
    assert got["dropped"] == 0 and got["sessions"] == 20
    for key in ("requests", "exceptions", "wrong_answers", "checked", "failures"):
        assert got[key] == here[key], key
    assert got["exceptions"] > 0 and got["wrong_answers"] > 0
    assert got["versions"] == {commit: got["requests"]}

    with EvidenceStore(service.settings.evidence_path) as store:
        reports = store.reports()
        failed = [t for t in store.tasks() if t.error is not None]
        reported = [store.get_task(r.task_id) for r in reports]
    assert len(reports) >= got["wrong_answers"]
    assert len(failed) == got["exceptions"]  # recorded by the SDK in the workers
    for report, task in zip(reports, reported, strict=True):
        assert task is not None, f"report {report.id} names no recorded task"
        assert re.fullmatch(rf"s{SEED}\.[0-9a-f]{{8}}-\d{{5}}", task.session_id or "")
        assert task.code_version == commit and report.has_expected
    kinds = {r.kind for r in reports}
    assert {"wrong_delivery_estimate", "wrong_return_window"} <= kinds


@pytest.mark.e2e
def test_background_traffic_is_paced_fresh_and_stops_cleanly_on_sigterm(
    served: tuple[Service, str, str],
) -> None:
    service, url, commit = served
    proc = traffic(service.folder, "--url", url, "--seconds", "120", "--rate", "25",
                   "--concurrency", "2", "--seed", "11", "--progress", "--no-report")  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until two sessions are done
        if line.startswith("progress 2 "):
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    got = outcome(proc, timeout=30)
    assert got["requests"] >= 2 and got["dropped"] == 0
    assert got["requests"] <= 25 * got["elapsed_s"] + 2, got  # the rate held
    assert got["elapsed_s"] < 60  # ended by the signal, not by --seconds
    assert got["versions"] == {commit: got["requests"]}
    with EvidenceStore(service.settings.evidence_path) as store:
        sessions = {t.session_id for t in store.tasks() if (t.session_id or "").startswith("s11.")}
    assert len(sessions) >= 2
    assert all(re.fullmatch(r"s11\.[0-9a-f]{8}\.0-\d{5}", s or "") for s in sessions)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_requests_to_a_stopped_service_are_dropped_not_errors() -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there any more
    got = outcome(traffic(EXAMPLE, "--url", url, "--sessions", "2", "--no-report", record=False))
    assert got["requests"] > 0 and got["dropped"] == got["requests"]
    assert got["exceptions"] == got["wrong_answers"] == got["checked"] == 0
    assert got["versions"] == {} and got["failures"] == {"dropped:ConnectError": got["requests"]}


# -- the service's answers, classified ---------------------------------------------------------


def _answer(error: failures.ServiceError) -> tuple[int, dict[str, Any]]:
    return error.status, error.as_json()


def test_an_agent_error_is_an_error_and_every_service_failure_is_dropped() -> None:
    from traffic.drive import classify

    detail = {"version": "c0ffee", "task_id": "ab" * 16}
    raised = failures.AgentError(
        "the agent raised KeyError: 'CAD'",
        detail={**detail, "error_type": "KeyError", "error_message": "'CAD'"},
    )
    result = classify(*_answer(raised))
    assert not result.dropped and result.error == "KeyError: 'CAD'"
    assert result.task_id == "ab" * 16 and result.version == "c0ffee"
    qualified = failures.AgentError("x", detail={"error_type": "pkg.mod.Oops", "error_message": ""})
    assert classify(*_answer(qualified)).error == "Oops: "

    service_side = [
        failures.WorkerCrashed("worker died", detail=detail),
        failures.CallTimedOut("no answer in 30 s", detail=detail),
        failures.Unavailable("the service is not serving"),
        failures.ServiceError("cannot migrate"),
        failures.BadRequest("session id is not valid"),
    ]
    for error in service_side:
        result = classify(*_answer(error))
        assert result.dropped and result.version is None, error
        assert result.error is not None and result.error.startswith(f"{error.kind}: ")
    assert classify(503, None).error == "http_503: HTTP 503" and classify(503, None).dropped
    ok = classify(200, {"reply": {"intent": "x"}, "version": "c0ffee", "task_id": "cd" * 16})
    assert ok.reply == {"intent": "x"} and ok.task_id == "cd" * 16 and not ok.dropped


def test_the_http_sender_posts_the_message_and_reads_the_reply() -> None:
    from traffic.drive import http_sender

    seen: list[tuple[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json={"reply": 1, "version": "v", "task_id": "ef" * 16})

    send = http_sender("http://svc/", transport=httpx.MockTransport(answer))
    try:
        result = send("s-1", {"text": "hi"})
    finally:
        send.close()
    assert seen == [("/sessions/s-1/messages", {"message": {"text": "hi"}})]
    assert result.reply == 1 and result.task_id == "ef" * 16 and result.version == "v"


# -- judging, pacing and flow, without a service ------------------------------------------------


def test_dropped_requests_are_counted_apart_and_never_reported() -> None:
    from traffic import Result, drive, generate

    reports: list[str] = []

    def down(session_id: str, message: dict[str, Any]) -> Result:
        return Result(None, "ReadError: connection reset", "t-1", dropped=True)

    got = drive(generate(4, seed=1), down, lambda task_id, **_: reports.append(task_id))
    data = got.as_dict()
    assert data["dropped"] == data["requests"] > 0 and data["sessions"] == 4
    assert data["exceptions"] == data["wrong_answers"] == data["checked"] == 0
    assert data["failures"] == {"dropped:ReadError": data["requests"]} and not reports
    assert data["versions"] == {}


def test_concurrent_sessions_keep_their_order_and_the_rate_is_shared() -> None:
    from traffic import Result, drive, generate

    sent: dict[str, list[str]] = {}
    lock = threading.Lock()

    def record(session_id: str, message: dict[str, Any]) -> Result:
        with lock:
            sent.setdefault(session_id, []).append(message["text"])
        return Result({"intent": "x", "text": "", "data": {}}, None, None, version="v9")

    scripts = generate(6, seed=2)
    total = sum(len(s.turns) for s in scripts)
    started = time.monotonic()
    got = drive(scripts, record, None, concurrency=3, rate=100.0)
    took = time.monotonic() - started
    assert took >= (total - 1) / 100.0 * 0.95  # no faster than the rate allows
    assert {s.session_id: [t.message["text"] for t in s.turns] for s in scripts} == sent
    assert got.sessions == 6 and got.requests == total and got.versions == {"v9": total}


def test_stop_ends_a_run_between_messages_even_while_pacing() -> None:
    from traffic import Result, drive
    from traffic.flow import fresh_scripts

    stop = threading.Event()

    def answer(session_id: str, message: dict[str, Any]) -> Result:
        return Result({"intent": "x", "text": "", "data": {}})

    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    got = drive(fresh_scripts(5), answer, None, concurrency=2, rate=10.0, stop=stop)
    assert time.monotonic() - started < 1.5  # an endless stream, ended by stop
    assert 1 <= got.requests <= 6


def test_fresh_scripts_are_deterministic_in_content_and_unique_in_id() -> None:
    from itertools import islice

    from traffic.flow import fresh_scripts

    first = list(islice(fresh_scripts(4, run="aaaa0000"), 120))
    again = list(islice(fresh_scripts(4, run="bbbb1111"), 120))
    assert [s.turns for s in first] == [s.turns for s in again]
    ids = [s.session_id for s in first] + [s.session_id for s in again]
    assert len(set(ids)) == len(ids) == 240
    assert first[0].session_id == "s4.aaaa0000.0-00000" and first[60].session_id.startswith(
        "s4.aaaa0000.1-"
    )
    assert [s.turns for s in islice(fresh_scripts(5), 50)] != [s.turns for s in first[:50]]


def test_an_error_in_one_session_thread_stops_the_run_and_is_raised() -> None:
    from traffic import Result, drive, generate

    def broken(session_id: str, message: dict[str, Any]) -> Result:
        raise RuntimeError("sender bug")

    with pytest.raises(RuntimeError, match="sender bug"):
        drive(generate(8, seed=1), broken, None, concurrency=2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sessions", "0"], "--sessions must be at least 1"),
        (["--concurrency", "0", "--url", "http://h:1"], "--concurrency must be at least 1"),
        (["--concurrency", "2"], "--concurrency above 1 needs --url"),
        (["--seconds", "-1"], "--seconds must be a positive number"),
        (["--seconds", "inf"], "--seconds must be a positive number"),
        (["--rate", "0"], "--rate must be a positive number"),
        (["--rate", "nan"], "--rate must be a positive number"),
        (["--url", "localhost:8700"], "is not an http(s) URL"),
        (["--url", "ftp://h/"], "is not an http(s) URL"),
        (["--rate", "fast"], "invalid float value"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from traffic.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and message in err[-1] and "Traceback" not in "".join(err)


def test_tagged_scripts_keep_their_conversations_under_run_own_ids() -> None:
    from traffic import generate
    from traffic.flow import tagged

    scripts = generate(3, seed=-2)
    renamed = list(tagged(scripts, run="cafe0123"))
    assert [s.session_id for s in renamed] == [f"s-2.cafe0123-0000{n}" for n in range(3)]
    assert [s.turns for s in renamed] == [s.turns for s in scripts]
    assert {s.session_id for s in tagged(scripts)}.isdisjoint(s.session_id for s in renamed)
