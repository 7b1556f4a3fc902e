"""gate stage: whether a verified candidate may go live, and what stops evolution.

:class:`Gate` checks a candidate's scores against the thresholds (:mod:`.thresholds`) and
then asks for consent (:mod:`.consent`: automatic, a person through ``theseus approve``,
or a signed webhook). The guards around it keep evolution from running away: the attempt
guard parks a signature tried too often (:mod:`.attempts`), the cycle budget caps time,
candidates, tokens and money (:mod:`.budgets`), the circuit breaker pauses after too many
rollbacks (:mod:`.breaker`), the kill switch pauses everything (:mod:`.switch`), and the
regression watch notices a fixed failure that comes back (:mod:`.regression`).

Imports evidence, change and lineage (it records decisions in the archive and the audit
log), never verify, propose, runtime or evolve.
"""

from theseus.gate.attempts import AttemptGuard, AttemptVerdict, evidence_key
from theseus.gate.breaker import CircuitBreaker
from theseus.gate.budgets import CycleBudget
from theseus.gate.consent import (
    AutoConsent,
    Consent,
    ConsentResult,
    ManualConsent,
    WebhookConsent,
    make_consent,
)
from theseus.gate.decide import Gate, GateResult
from theseus.gate.regression import RegressionFlag, RegressionWatch
from theseus.gate.switch import KillSwitch
from theseus.gate.thresholds import Decision, check_thresholds, summarise

__all__ = [
    "AttemptGuard",
    "AttemptVerdict",
    "AutoConsent",
    "CircuitBreaker",
    "Consent",
    "ConsentResult",
    "CycleBudget",
    "Decision",
    "Gate",
    "GateResult",
    "KillSwitch",
    "ManualConsent",
    "RegressionFlag",
    "RegressionWatch",
    "WebhookConsent",
    "check_thresholds",
    "evidence_key",
    "make_consent",
    "summarise",
]
