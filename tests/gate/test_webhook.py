"""Webhook consent end to end over real local HTTP: signed request, signed answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from theseus.config import GateSettings
from theseus.errors import ConfigError
from theseus.gate.consent import WebhookConsent, make_consent
from theseus.gate.decide import Gate
from theseus.gate.webhook import SIGNATURE_HEADER, CallbackReceiver, sign, signature_ok
from theseus.lineage.archive import Archive
from theseus.lineage.state import open_audit

from .conftest import verified_candidate

SECRET = b"shared-secret"


class Approver:
    """A real HTTP approver: checks the request's signature, then calls back signed."""

    def __init__(self, decision: str = "approve", status: int = 202, tamper: bool = False) -> None:
        self.decision, self.status, self.tamper = decision, status, tamper
        self.requests: list[dict[str, Any]] = []
        self.callback_codes: list[int] = []
        self.bad_signatures = 0
        approver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not signature_ok(body, self.headers.get(SIGNATURE_HEADER), SECRET):
                    approver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                approver.requests.append(json.loads(body))
                self.send_response(approver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if approver.status < 300:
                    threading.Thread(target=approver.answer, args=(json.loads(body),)).start()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/review"

    def post(self, url: str, data: dict[str, Any], secret: bytes = SECRET) -> int:
        body = json.dumps(data).encode()
        return httpx.post(
            url, content=body, headers={SIGNATURE_HEADER: sign(body, secret)}
        ).status_code

    def answer(self, request: dict[str, Any]) -> None:
        data = {
            "nonce": request["nonce"],
            "candidate_id": request["candidate"]["id"],
            "decision": self.decision,
            "actor": "reviewer@example",
            "reason": f"{self.decision} after review",
        }
        if self.tamper:  # a forged answer first: signed with the wrong secret
            self.callback_codes.append(self.post(request["callback_url"], data, b"wrong"))
        self.callback_codes.append(self.post(request["callback_url"], data))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def approver() -> Iterator[Approver]:
    server = Approver()
    yield server
    server.close()


def consent(archive: Archive, url: str, timeout: float = 30.0) -> WebhookConsent:
    return WebhookConsent(url, SECRET, timeout, archive, poll_interval=0.05)


@pytest.mark.e2e
def test_signed_approval_round_trip(project: Path, archive: Archive, approver: Approver) -> None:
    c = verified_candidate(project, archive)
    audit = open_audit(project)
    result = Gate(
        GateSettings(consent="webhook"), archive, audit, consent(archive, approver.url)
    ).decide(c.id)
    assert result.approved and result.actor == "reviewer@example" and result.channel == "webhook"
    assert archive.status(c.id) == "approved"
    [request] = approver.requests
    assert request["candidate"]["id"] == c.id and request["candidate"]["diff"] == c.diff
    assert request["gate"]["approved"] is True
    assert approver.callback_codes == [200]
    assert audit.records()[-1]["actor"] == "reviewer@example"


@pytest.mark.e2e
def test_signed_rejection_and_forged_answer(project: Path, archive: Archive) -> None:
    server = Approver(decision="reject", tamper=True)
    try:
        c = verified_candidate(project, archive)
        result = Gate(GateSettings(), archive, None, consent(archive, server.url)).decide(c.id)
    finally:
        server.close()
    assert not result.approved and archive.status(c.id) == "rejected"
    assert server.callback_codes == [401, 200]


def test_webhook_refusing_the_request_rejects(project: Path, archive: Archive) -> None:
    server = Approver(status=500)
    try:
        c = verified_candidate(project, archive)
        result = Gate(GateSettings(), archive, None, consent(archive, server.url)).decide(c.id)
    finally:
        server.close()
    assert not result.approved and "HTTP 500" in result.reasons[-1]
    assert archive.status(c.id) == "rejected"


def test_unreachable_webhook_rejects(project: Path, archive: Archive) -> None:
    c = verified_candidate(project, archive)
    result = Gate(GateSettings(), archive, None, consent(archive, "http://127.0.0.1:9/x")).decide(
        c.id
    )
    assert not result.approved and "cannot reach the webhook" in result.reasons[-1]


def test_no_answer_times_out_rejected(project: Path, archive: Archive) -> None:
    server = Approver()
    server.answer = lambda request: None  # type: ignore[method-assign]  # never calls back
    try:
        c = verified_candidate(project, archive)
        result = Gate(GateSettings(), archive, None, consent(archive, server.url, 0.3)).decide(c.id)
    finally:
        server.close()
    assert not result.approved and "no signed answer within" in result.reasons[-1]


def test_receiver_refuses_bad_requests() -> None:
    with CallbackReceiver(SECRET) as receiver:
        receiver.expect("n1", "cand")
        url = receiver.url

        def post(body: bytes, secret: bytes | None = SECRET, path: str = "") -> int:
            headers = {SIGNATURE_HEADER: sign(body, secret)} if secret else {}
            return httpx.post(url + path, content=body, headers=headers).status_code

        good = {"nonce": "n1", "candidate_id": "cand", "decision": "approve"}
        assert post(json.dumps(good).encode(), None) == 401
        assert post(json.dumps(good).encode(), b"other") == 401
        assert post(b"{not json", SECRET) == 400
        assert post(b"[1, 2]", SECRET) == 400
        assert post(json.dumps({**good, "decision": "maybe"}).encode()) == 400
        assert post(json.dumps({**good, "candidate_id": "other"}).encode()) == 400
        assert post(json.dumps({**good, "nonce": "n2"}).encode()) == 404
        assert post(json.dumps(good).encode(), path="/../elsewhere") == 404
        assert post(b"x" * 70_000) == 413
        assert httpx.get(url).status_code == 405
        assert receiver.wait("n1", 0.01) is None
        assert post(json.dumps(good).encode()) == 200
        answer = receiver.wait("n1", 1)
        assert answer is not None and answer.approved and answer.actor == "webhook"
        assert post(json.dumps(good).encode()) == 409  # one answer per request: no replays


def test_signature_helpers() -> None:
    assert sign(b"body", SECRET).startswith("sha256=")
    assert signature_ok(b"body", sign(b"body", SECRET), SECRET)
    assert not signature_ok(b"body!", sign(b"body", SECRET), SECRET)
    assert not signature_ok(b"body", None, SECRET)


def test_make_consent_config_errors(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="webhook_url is not set"):
        make_consent(GateSettings(consent="webhook"), archive)
    settings = GateSettings(
        consent="webhook", webhook_url="http://x", webhook_secret_env="MY_SECRET"
    )
    monkeypatch.delenv("MY_SECRET", raising=False)
    with pytest.raises(ConfigError, match=r"\$MY_SECRET is empty"):
        make_consent(settings, archive)
    monkeypatch.setenv("MY_SECRET", "s")
    assert isinstance(make_consent(settings, archive), WebhookConsent)
    bad_listen = settings.model_copy(update={"webhook_listen": "nohost"})
    with pytest.raises(ConfigError, match="is not host:port"):
        make_consent(bad_listen, archive)
