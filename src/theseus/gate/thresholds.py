"""The gate's numbers: does a verified candidate fix enough of its batch and break nothing?

Verification already judged the candidate against the same settings; the gate checks again
from the stored scores because a person may lower or raise the bar between the two, and
because the gate must never promote on the word of a status alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel

from theseus.config import GateSettings
from theseus.errors import TheseusError


@dataclass(frozen=True)
class ScoreSummary:
    """The few numbers the gate decides on, whatever shape the scores came in."""

    fixed: int
    total: int
    regressions: int
    new_failures: int = 0
    tests_passed: int | None = None
    tests_failed: int | None = None

    @property
    def fixed_share(self) -> float:
        return self.fixed / self.total if self.total else 0.0


@dataclass(frozen=True)
class Decision:
    """Whether the numbers allow promotion, with every reason (passing ones too)."""

    approved: bool
    reasons: list[str] = field(default_factory=list)
    summary: ScoreSummary | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.summary is not None:
            data["summary"]["fixed_share"] = round(self.summary.fixed_share, 4)
        return data


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise TheseusError(f"score {name!r} must be a number, got {value!r}")
    if isinstance(value, list | tuple):
        return len(value)
    if isinstance(value, int):
        if value < 0:
            raise TheseusError(f"score {name!r} must not be negative, got {value}")
        return value
    raise TheseusError(f"score {name!r} must be a count or a list, got {value!r}")


def summarise(scores: Mapping[str, Any] | BaseModel) -> ScoreSummary:
    """Read fixed/total/regressions from verification scores: the archive's dict
    (``replay_fixed``/``replay_total`` or ``fixed``/``total``) or a score model."""
    data: Mapping[str, Any] = scores.model_dump() if isinstance(scores, BaseModel) else scores
    fixed_key = "replay_fixed" if "replay_fixed" in data else "fixed"
    total_key = "replay_total" if "replay_total" in data else "total"
    for key in (fixed_key, total_key):
        if key not in data:
            raise TheseusError(
                f"the candidate's scores have no {key!r}",
                hint="verify the candidate first (`theseus verify`); the gate decides on its scores",
            )
    fixed, total = _count(data[fixed_key], fixed_key), _count(data[total_key], total_key)
    if fixed > total:
        raise TheseusError(f"scores say {fixed} of {total} failures fixed; that cannot be")
    tests_passed = data.get("tests_passed")
    tests_failed = data.get("tests_failed")
    return ScoreSummary(
        fixed=fixed,
        total=total,
        regressions=_count(data.get("regressions", 0), "regressions"),
        new_failures=_count(data.get("new_failures", 0), "new_failures"),
        tests_passed=tests_passed if isinstance(tests_passed, int) else None,
        tests_failed=tests_failed if isinstance(tests_failed, int) else None,
    )


def check_thresholds(scores: Mapping[str, Any] | BaseModel, gate: GateSettings) -> Decision:
    """Approve when the fixed share reaches ``gate.min_fixed_share`` and regressions (checks
    that passed on the base and fail now, plus new failing checks) stay within
    ``gate.max_regressions``. A candidate with no failures to show it fixes is refused."""
    summary = summarise(scores)
    ok, reasons = True, []
    if summary.total == 0:
        ok = False
        reasons.append("no replayable failures: nothing shows the fix works")
    elif summary.fixed_share + 1e-12 < gate.min_fixed_share:
        ok = False
        reasons.append(
            f"fixes {summary.fixed}/{summary.total} ({summary.fixed_share:.0%}), "
            f"below the required {gate.min_fixed_share:.0%}"
        )
    elif summary.fixed == 0:
        ok = False
        reasons.append("fixes none of its failures")
    else:
        reasons.append(f"fixes {summary.fixed}/{summary.total} ({summary.fixed_share:.0%})")
    broken = summary.regressions + summary.new_failures
    if broken > gate.max_regressions:
        ok = False
        reasons.append(
            f"{summary.regressions} regression(s) and {summary.new_failures} new failing "
            f"check(s), more than the {gate.max_regressions} allowed"
        )
    else:
        reasons.append(f"{broken} regression(s), within the {gate.max_regressions} allowed")
    return Decision(approved=ok, reasons=reasons, summary=summary)
