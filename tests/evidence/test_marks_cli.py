"""`theseus evidence park|unpark|forget` and the status column, through the real CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from theseus.cli.main import main
from theseus.config import load_settings
from theseus.evidence.store import EvidenceStore

from .conftest import load_module

AGENT = """\
import theseus

@theseus.task
def handle(message, state):
    return {"total": [10, 20][message["n"]]}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _crash(project: Path, times: int) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    for n in range(2, 2 + times):
        with pytest.raises(IndexError):
            mod.handle({"n": n}, {})


def _listed(project: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code, out, err = run(capsys, "evidence", "list", "--project", str(project), "--json")
    assert code == 0, err
    listed: list[dict[str, object]] = json.loads(out)
    return listed


def test_park_unpark_and_forget_change_the_status_and_are_audited(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _crash(project, 3)
    [batch] = _listed(project, capsys)
    assert batch["status"] == "open"
    sig = str(batch["signature"])
    code, out, _ = run(capsys, "evidence", "park", sig, "--reason", "vendor bug", "-p", str(project))
    assert code == 0 and "parked" in out
    assert [b["status"] for b in _listed(project, capsys)] == ["parked"]
    code, out, _ = run(capsys, "evidence", "unpark", sig, "-p", str(project))
    assert code == 0 and "unmarked" in out
    assert [b["status"] for b in _listed(project, capsys)] == ["open"]

    code, _, _ = run(capsys, "evidence", "forget", sig, "-p", str(project))
    assert code == 0
    assert _listed(project, capsys) == []  # its evidence so far no longer counts
    time.sleep(0.01)
    _crash(project, 1)  # a new failure brings it back, with only the new evidence
    [back] = _listed(project, capsys)
    assert back["signature"] == sig and back["count"] == 1

    audit = (project / ".theseus" / "audit.jsonl").read_text().splitlines()
    events = [json.loads(line)["payload"]["event"] for line in audit]
    assert events == ["parked", "unmark", "forgotten"]
    with EvidenceStore(load_settings(project).evidence_path) as store:
        assert store.signature_marks()[sig].reason == ""


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["evidence", "park", "not-a-sig"], "is not a failure signature"),
        (["evidence", "forget", "abc"], "is not a failure signature"),
        (["evolve", "--signature", "xyz!"], "is not a failure signature"),
        (["evolve", "--since", "-3"], "must be a positive number of hours"),
    ],
)
def test_bad_signature_arguments_are_one_line_errors(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, out, err = run(capsys, *argv, "-p", str(project))
    assert code == 2 and says in err and "Traceback" not in err + out


def test_marking_without_evidence_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "evidence", "park", "0123456789ab", "-p", str(project))
    assert code != 0 and "no evidence store" in err and "Traceback" not in err
