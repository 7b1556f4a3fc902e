"""report_failure with matchers, and the reports it refuses, in the agent's own process."""

from __future__ import annotations

from pathlib import Path

import pytest

import theseus
from theseus.errors import EvidenceError
from theseus.evidence.store import EvidenceStore

from .conftest import load_module

AGENT = """\
import theseus

@theseus.task
def handle(message, state):
    return {"text": "Hello " + message, "task_id": theseus.current_task_id(), "items": []}
"""


def test_the_readme_report_with_partial_is_stored_and_a_bare_subset_is_refused(
    project: Path,
) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    reply = mod.handle("Ada", {})
    task_id = reply["task_id"]
    # the README of old: {"text": ...} alone can never equal a reply with other fields
    with pytest.raises(EvidenceError) as refused:
        theseus.report_failure(task_id, expected={"text": "Hi Ada"})
    line = refused.value.line()
    assert "theseus.partial" in line and "items, task_id" in line and "\n" not in line
    with pytest.raises(EvidenceError, match="matches what the task returned"):
        theseus.report_failure(task_id, expected=reply)
    with pytest.raises(ValueError, match="does not compile"):
        theseus.regex("(")

    theseus.report_failure(task_id, expected=theseus.partial({"text": "Hi Ada"}))
    theseus.report_failure(task_id, expected=theseus.regex(r"^Hi "), kind="tone")
    with EvidenceStore(project / ".theseus" / "evidence.db") as store:
        stored = [r.expected for r in store.reports(task_id)]
    assert stored == [
        {"$theseus": "partial", "value": {"text": "Hi Ada"}},
        {"$theseus": "regex", "pattern": "^Hi ", "flags": ""},
    ]


def test_a_malformed_matcher_written_by_hand_is_refused(project: Path) -> None:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    task_id = mod.handle("Bo", {})["task_id"]
    with pytest.raises(EvidenceError, match="unknown matcher 'fuzzy'"):
        theseus.report_failure(task_id, expected={"$theseus": "fuzzy"})
