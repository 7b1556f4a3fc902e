"""Consent: who says yes once the numbers allow promotion.

``auto`` says yes at once. ``manual`` waits for a person: ``theseus approve ID`` or
``theseus reject ID`` change the candidate's status in the archive (from any process), which
the waiting gate polls; no answer within ``gate.manual_timeout`` rejects. ``webhook`` POSTs a
signed review request and waits for a signed answer at its callback receiver (a person may
still decide from the CLI meanwhile). Every channel rejects when in doubt: an unreachable
webhook or a timeout never promotes anything.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from theseus._jsonvalue import dumps
from theseus.change.candidate import Candidate
from theseus.config import GateSettings
from theseus.errors import ConfigError, IllegalTransition, WebhookError
from theseus.gate.thresholds import Decision
from theseus.gate.webhook import CallbackReceiver, post_signed
from theseus.lineage.archive import Archive


@dataclass(frozen=True)
class ConsentResult:
    """The answer; ``decided`` is False when the wait was interrupted (kill switch), and
    then the candidate stays ``verified`` for a later cycle."""

    approved: bool
    channel: str
    actor: str
    reason: str
    decided: bool = True


class Consent(Protocol):
    channel: str

    def request(self, candidate: Candidate, decision: Decision) -> ConsentResult: ...


Interrupt = Callable[[], bool]


def never_interrupted() -> bool:
    return False


class AutoConsent:
    """Consent under policy: the thresholds already said yes."""

    channel = "auto"

    def request(self, candidate: Candidate, decision: Decision) -> ConsentResult:
        return ConsentResult(decision.approved, "auto", "theseus", "; ".join(decision.reasons))


def _person_decision(archive: Archive, candidate_id: str, channel: str) -> ConsentResult | None:
    """The decision a person made from the CLI, if the status moved off ``verified``."""
    status = archive.status(candidate_id)
    if status == "verified":
        return None
    last = archive.history(candidate_id)[-1]
    return ConsentResult(status in ("approved", "promoted"), channel, last.actor, last.reason)


def _time_out(archive: Archive, candidate_id: str, channel: str, why: str) -> ConsentResult:
    try:
        archive.set_status(candidate_id, "rejected", why, actor="theseus")
    except IllegalTransition:  # a person decided at the last moment: theirs wins
        decided = _person_decision(archive, candidate_id, channel)
        if decided is not None:
            return decided
    return ConsentResult(False, channel, "theseus", why)


class ManualConsent:
    """Wait for ``theseus approve`` / ``theseus reject`` (polling the archive)."""

    channel = "manual"

    def __init__(
        self,
        archive: Archive,
        timeout: float,
        poll_interval: float = 0.5,
        interrupted: Interrupt = never_interrupted,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.archive, self.timeout, self.poll = archive, timeout, poll_interval
        self.interrupted, self.clock = interrupted, clock

    def request(self, candidate: Candidate, decision: Decision) -> ConsentResult:
        deadline = self.clock() + self.timeout
        while True:
            decided = _person_decision(self.archive, candidate.id, self.channel)
            if decided is not None:
                return decided
            if self.interrupted():
                return ConsentResult(False, self.channel, "theseus", "paused while waiting", False)
            if self.clock() >= deadline:
                why = f"no decision within {self.timeout:g} s (manual consent timed out)"
                return _time_out(self.archive, candidate.id, self.channel, why)
            time.sleep(self.poll)


def _listen(spec: str) -> tuple[str, int]:
    host, sep, port = spec.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(
            f"gate.webhook_listen {spec!r} is not host:port", hint='e.g. "127.0.0.1:8711"'
        )
    return host, int(port)


class WebhookConsent:
    """POST a signed review request; wait for a signed answer at a callback receiver."""

    channel = "webhook"

    def __init__(
        self,
        url: str,
        secret: bytes,
        timeout: float,
        archive: Archive,
        listen: str = "127.0.0.1:0",
        callback_url: str | None = None,
        poll_interval: float = 0.5,
        interrupted: Interrupt = never_interrupted,
    ) -> None:
        if not secret:
            raise ConfigError(
                "the webhook secret is empty", hint="set the secret environment variable"
            )
        self.url, self.secret, self.timeout, self.archive = url, secret, timeout, archive
        self.host, self.port = _listen(listen)
        self.callback_url, self.poll, self.interrupted = callback_url, poll_interval, interrupted

    def request(self, candidate: Candidate, decision: Decision) -> ConsentResult:
        with CallbackReceiver(self.secret, self.host, self.port) as receiver:
            nonce = secrets.token_hex(16)
            receiver.expect(nonce, candidate.id)
            payload = {
                "event": "theseus.candidate.review",
                "nonce": nonce,
                "callback_url": self.callback_url or receiver.url,
                "expires_at": time.time() + self.timeout,
                "candidate": {
                    "id": candidate.id,
                    "signature": candidate.signature,
                    "proposer": candidate.proposer,
                    "rationale": candidate.rationale,
                    "base_commit": candidate.base_commit,
                    "diff": candidate.diff,
                },
                "gate": decision.as_dict(),
            }
            try:
                status = post_signed(self.url, dumps(payload).encode(), self.secret)
            except WebhookError as exc:
                return _time_out(self.archive, candidate.id, self.channel, exc.message)
            if not 200 <= status < 300:
                why = f"the webhook {self.url} answered HTTP {status}"
                return _time_out(self.archive, candidate.id, self.channel, why)
            deadline = time.monotonic() + self.timeout
            while True:
                answer = receiver.wait(nonce, min(self.poll, max(0.0, deadline - time.monotonic())))
                if answer is not None:
                    return ConsentResult(answer.approved, self.channel, answer.actor, answer.reason)
                decided = _person_decision(self.archive, candidate.id, self.channel)
                if decided is not None:
                    return decided
                if self.interrupted():
                    return ConsentResult(
                        False, self.channel, "theseus", "paused while waiting", False
                    )
                if time.monotonic() >= deadline:
                    why = f"no signed answer within {self.timeout:g} s"
                    return _time_out(self.archive, candidate.id, self.channel, why)


def make_consent(
    settings: GateSettings, archive: Archive, interrupted: Interrupt = never_interrupted
) -> Consent:
    """The consent channel the settings ask for (ConfigError when it cannot work)."""
    if settings.consent == "auto":
        return AutoConsent()
    if settings.consent == "manual":
        return ManualConsent(archive, settings.manual_timeout, interrupted=interrupted)
    if not settings.webhook_url:
        raise ConfigError(
            "gate.consent is 'webhook' but gate.webhook_url is not set",
            hint="set the approver's URL",
        )
    secret = os.environ.get(settings.webhook_secret_env, "")
    if not secret:
        raise ConfigError(
            f"gate.consent is 'webhook' but ${settings.webhook_secret_env} is empty",
            hint="export the shared secret (gate.webhook_secret_env names the variable)",
        )
    return WebhookConsent(
        settings.webhook_url,
        secret.encode(),
        settings.manual_timeout,
        archive,
        listen=settings.webhook_listen,
        callback_url=settings.webhook_callback_url,
        interrupted=interrupted,
    )
