"""The gate: thresholds, then consent, then the candidate's status and an audit record.

This is the one call the cycle makes for a verified candidate. Whatever the channel, the
outcome ends up in the same two places: the archive (``approved`` or ``rejected``, with who
and why) and the audit log (a ``gate`` record), so nothing is promoted without a trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel

from theseus.config import GateSettings
from theseus.errors import IllegalTransition, TheseusError
from theseus.gate.consent import (
    Consent,
    Interrupt,
    ManualConsent,
    make_consent,
    never_interrupted,
)
from theseus.gate.thresholds import check_thresholds
from theseus.lineage.archive import Archive
from theseus.lineage.audit import AuditLog


@dataclass(frozen=True)
class GateResult:
    """What the gate decided for one candidate."""

    candidate_id: str
    approved: bool
    channel: str
    actor: str
    reasons: list[str] = field(default_factory=list)
    decided: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Gate:
    """Decide on verified candidates of one project."""

    def __init__(
        self,
        settings: GateSettings,
        archive: Archive,
        audit: AuditLog | None = None,
        consent: Consent | None = None,
        interrupted: Interrupt = never_interrupted,
    ) -> None:
        self.settings, self.archive, self.audit = settings, archive, audit
        self.consent = consent or make_consent(settings, archive, interrupted)
        # a change that reaches new capabilities (policy.capability_changes = "consent") is a
        # person's decision even when every other candidate is approved automatically
        self.capability_consent: Consent = (
            self.consent
            if getattr(self.consent, "channel", "") in ("manual", "webhook")
            else ManualConsent(archive, settings.manual_timeout, interrupted=interrupted)
        )

    def decide(
        self, candidate_id: str, scores: Mapping[str, Any] | BaseModel | None = None
    ) -> GateResult:
        """Thresholds on the scores (given, else the archived ones), then consent.

        The candidate must be ``verified``; it leaves ``approved`` or ``rejected`` (or stays
        ``verified`` when a pause interrupted the wait)."""
        candidate = self.archive.get(candidate_id)
        if candidate.status != "verified":
            raise IllegalTransition(
                f"candidate {candidate.id} is {candidate.status}; only verified candidates reach the gate",
                hint="verify it first",
            )
        if scores is None:
            scores = self.archive.scores(candidate.id)
            if scores is None:
                raise TheseusError(
                    f"candidate {candidate.id} has no scores", hint="verify it first"
                )
        decision = check_thresholds(scores, self.settings)
        if not decision.approved:
            why = "thresholds: " + "; ".join(decision.reasons)
            self.archive.set_status(candidate.id, "rejected", why, actor="gate")
            result = GateResult(candidate.id, False, "thresholds", "gate", decision.reasons)
        else:
            new_reach = _consent_capabilities(scores)
            channel = self.capability_consent if new_reach else self.consent
            if new_reach:
                decision.reasons.append("new capabilities need a person: " + "; ".join(new_reach))
            answer = channel.request(candidate, decision)
            reasons = [*decision.reasons, f"{answer.channel}: {answer.reason}"]
            approved = answer.approved
            if answer.decided:
                approved = self._settle(candidate.id, answer.approved, answer.reason, answer.actor)
            result = GateResult(
                candidate.id, approved, answer.channel, answer.actor, reasons, answer.decided
            )
        if self.audit is not None:
            payload: dict[str, Any] = result.as_dict()
            payload["signature"] = candidate.signature
            payload["thresholds"] = decision.as_dict()
            self.audit.append("gate", payload, actor=result.actor)
        return result

    @staticmethod
    def capability_diff(scores: Mapping[str, Any] | BaseModel | None) -> list[str]:
        """What a candidate can newly reach and needs consent for (``file:line name``)."""
        return _consent_capabilities(scores) if scores is not None else []

    def _settle(self, candidate_id: str, approved: bool, reason: str, actor: str) -> bool:
        """Store the channel's answer unless a person already decided (theirs stands)."""
        target = "approved" if approved else "rejected"
        current = self.archive.status(candidate_id)
        if current == "verified":
            try:
                self.archive.set_status(candidate_id, target, reason, actor=actor)
                return approved
            except IllegalTransition:
                current = self.archive.status(candidate_id)
        return current in ("approved", "promoted")


def _consent_capabilities(scores: Mapping[str, Any] | BaseModel) -> list[str]:
    data = scores.model_dump() if isinstance(scores, BaseModel) else scores
    if not data.get("needs_consent"):
        return []
    return [
        f"{c.get('file')}:{c.get('line')} {c.get('name')}"
        for c in data.get("capabilities", [])
        if isinstance(c, dict) and c.get("verdict") == "consent"
    ]
