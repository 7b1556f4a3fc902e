"""Failure signatures and message normalisation."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from theseus.evidence.records import ErrorInfo, FailureReport, Frame, TaskRecord
from theseus.evidence.signature import MAX_MESSAGE, normalise_message, signature_for
from theseus.paths import rules_from

RULES = rules_from(Path("/proj"), ["pkg/**/*.py"], ["pkg/protected.py"])


def failed(message: str, frames: list[Frame], kind: str = "KeyError") -> TaskRecord:
    return TaskRecord(
        id="t1",
        function="pkg.agent:handle",
        input={"args": [], "kwargs": {}},
        error=ErrorInfo(type=kind, message=message, frames=frames),
        started_at=1.0,
    )


FRAMES = [
    Frame(file="pkg/agent.py", line=10, function="handle"),
    Frame(file="pkg/skills/orders.py", line=22, function="lookup"),
    Frame(file="/usr/lib/python3.11/json/decoder.py", line=5, function="decode"),
]


def test_normalise_examples() -> None:
    assert (
        normalise_message("order 'ORD-17' not found after 3 tries")
        == "order <str> not found after <num> tries"
    )
    assert normalise_message('no user "bob"') == "no user <str>"
    assert normalise_message(
        "object at 0x7f3a2b1c has id 6fa459ea-ee8a-3ca4-894e-db77e160355e"
    ) == ("object at <hex> has id <id>")
    assert normalise_message("token deadbeef12345678 expired") == "token <hex> expired"
    assert normalise_message("ratio -2.5e3 > 1.5") == "ratio <num> > <num>"
    assert normalise_message("v2 of utf8 uses 1.2.3") == "v2 of utf8 uses 1.2.3"
    assert normalise_message("ORD-42") == "ORD-<num>"
    assert len(normalise_message("x " * 500)) == MAX_MESSAGE


@example(message="'\n'")  # a quoted line break: found by hypothesis on a fresh clone
@given(st.text(max_size=300))
def test_normalise_is_idempotent(message: str) -> None:
    once = normalise_message(message)
    assert normalise_message(once) == once


@given(st.integers(), st.integers(), st.text(alphabet="abcXYZ -_", max_size=10))
def test_values_do_not_split_signatures(a: int, b: int, word: str) -> None:
    template = "order {} for {!r} failed"
    assert normalise_message(template.format(a, word)) == normalise_message(
        template.format(b, word + "q")
    )


def test_exception_signature_uses_innermost_mutable_frame_without_lines() -> None:
    sig = signature_for(failed("'ORD-1'", FRAMES), None, RULES)
    assert sig.location == "pkg/skills/orders.py:lookup"
    assert sig.title == "KeyError in pkg/skills/orders.py:lookup: <str>"
    moved = [f.model_copy(update={"line": f.line + 40}) for f in FRAMES]
    same = signature_for(failed("'ORD-999'", moved), None, RULES)
    assert same.id == sig.id and len(sig.id) == 12
    assert signature_for(failed("'ORD-1'", FRAMES, kind="ValueError"), None, RULES).id != sig.id
    assert signature_for(failed("other text", FRAMES), None, RULES).id != sig.id


def test_protected_and_outside_frames_are_not_locations() -> None:
    frames = [Frame(file="pkg/protected.py", line=1, function="guard"), FRAMES[2]]
    sig = signature_for(failed("boom", frames), None, RULES)
    assert sig.location is None
    assert "decoder.py:decode (outside mutable code)" in sig.title


def test_semantic_signature_is_kind_and_function() -> None:
    ok = TaskRecord(id="t2", function="pkg.agent:handle", input={}, output=1, started_at=1.0)
    rep = FailureReport(id="r", task_id="t2", kind="wrong_answer", created_at=2.0)
    sig = signature_for(ok, rep, RULES)
    assert sig.title == "wrong_answer from pkg.agent:handle" and sig.location is None
    other = signature_for(ok, rep.model_copy(update={"kind": "complaint"}), RULES)
    assert other.id != sig.id
    # an exception wins over the report: the trace is the more precise description
    assert signature_for(failed("boom", FRAMES), rep, RULES).title.startswith("KeyError")
    assert isinstance(sig, tuple) and len(sig) == 3
