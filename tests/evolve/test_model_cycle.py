"""Evolution cycles with the model proposers, against the scripted OpenAI-compatible server.

The real ``openai`` client talks HTTP to a local server that replays scripted answers, and
everything after the answer is the product's real path: parse, policy, sandboxed
verification, gate, git promotion, audit. The example agent's IndexError (a customer with
no orders) is the bug every test works on.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from scripted_llm import ScriptedLLMServer, text, tool_calls

from theseus.config import Settings, load_settings
from theseus.demo import curate_workdir, prepare_workdir, record_in_process
from theseus.evolve import run_cycle
from theseus.lineage.state import open_archive, open_audit

KEY_ENV = "THESEUS_TEST_LLM_KEY"
ORDERS = "support_agent/skills/orders.py"
GUARD_SEARCH = "    orders = orders_of(customer.id)\n    latest = orders[-1]\n"
GUARD_REPLACE = (
    "    orders = orders_of(customer.id)\n"
    "    if not orders:\n"
    "        return replies.no_orders(customer.name)\n"
    "    latest = orders[-1]\n"
)


def _block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


FIX_ANSWER = (
    "The customer has no orders, so `orders[-1]` raises. Guard the empty list:\n\n"
    + _block(ORDERS, GUARD_SEARCH, GUARD_REPLACE)
)
LAZY_ANSWER = "You should check whether the customer has any orders before using the list."
SUBPROCESS_ANSWER = "Log the case to the ops script first:\n\n" + _block(
    ORDERS,
    GUARD_SEARCH,
    "    import subprocess\n"
    "    subprocess.run(['logger', 'no orders'])\n"
    "    orders = orders_of(customer.id)\n"
    "    if not orders:\n"
    "        return replies.no_orders(customer.name)\n"
    "    latest = orders[-1]\n",
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder, _ = prepare_workdir(tmp_path_factory.mktemp("model") / "repo")
    record_in_process(folder, sessions=60, seed=7)
    return folder


@pytest.fixture
def agent(recorded: Path, tmp_path: Path) -> Path:
    """A private copy (git history and evidence included): cycles commit into it."""
    target = tmp_path / "repo"
    shutil.copytree(recorded, target, symlinks=True)
    return target


def _settings(
    agent: Path, server: ScriptedLLMServer | None, proposers: list[str], **llm: Any
) -> Settings:
    base = load_settings(agent / "theseus.toml")
    llm_settings = base.propose.llm.model_copy(
        update={
            "model": "scripted-model",
            "base_url": server.base_url if server else "http://127.0.0.1:9/v1",
            "api_key_env": KEY_ENV,
            "timeout": 10.0,
            "max_retries": 0,
            "prices": {"input": 1.0, "output": 2.0},
            **llm,
        }
    )
    propose = base.propose.model_copy(update={"proposers": proposers, "llm": llm_settings})
    return base.model_copy(update={"propose": propose})


def _index_error(agent: Path) -> str:
    return next(b.signature for b in curate_workdir(agent) if b.title.startswith("IndexError"))


@pytest.mark.e2e
def test_llm_fix_is_promoted_and_lazy_and_subprocess_answers_are_recorded(
    agent: Path, llm_server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")
    llm_server.script(text(LAZY_ANSWER), text(SUBPROCESS_ANSWER), text(FIX_ANSWER))
    settings = _settings(agent, llm_server, ["llm"], samples=3)

    report = run_cycle(settings, only={_index_error(agent)})

    [outcome] = report.outcomes
    assert outcome.outcome == "promoted", (outcome.reason, report.notes)
    assert outcome.proposer == "llm" and "if not orders" in outcome.diff
    assert outcome.rejected == 1  # the lazy answer never became a candidate
    assert report.tokens == 3 * 150 and report.cost_usd == pytest.approx(
        3 * (100 * 1.0 + 50 * 2.0) / 1e6
    )
    # The evidence went to the model as delimited data, with the code and the policy.
    prompt = str(llm_server.requests[0]["messages"])
    assert "IndexError" in prompt and "orders[-1]" in prompt
    assert "raised IndexError: list index out of range" in prompt  # what the agent did
    audit = open_audit(agent)
    records = list(audit.records())
    lazy = [r for r in records if r["kind"] == "proposal_rejected"]
    assert len(lazy) == 1 and lazy[0]["payload"]["proposer"] == "llm"
    proposals = [r["payload"] for r in records if r["kind"] == "proposal"]
    assert all(p["input_tokens"] == 100 and p["output_tokens"] == 50 for p in proposals)
    assert audit.verify().ok
    archive = open_archive(agent)
    try:
        statuses = sorted(c.status for c in archive.list() if c.proposer == "llm")
    finally:
        archive.close()
    assert statuses == ["promoted", "rejected_policy"]


@pytest.mark.e2e
def test_agent_fix_is_promoted(
    agent: Path, llm_server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")
    llm_server.script(
        tool_calls([("view_file", {"path": ORDERS})]),
        tool_calls([("edit_file", {"path": ORDERS, "old": GUARD_SEARCH, "new": GUARD_REPLACE})]),
        tool_calls([("finish", {"summary": "guard the empty order list"})]),
        text("Done."),
    )
    settings = _settings(agent, llm_server, ["agent"])

    report = run_cycle(settings, only={_index_error(agent)})

    [outcome] = report.outcomes
    assert outcome.outcome == "promoted", (outcome.reason, report.notes)
    assert outcome.proposer == "agent" and "if not orders" in outcome.diff
    assert report.tokens > 0
    # The tool results went back to the model: the file it viewed was in the next request.
    assert "latest = orders[-1]" in str(llm_server.requests[1]["messages"])


@pytest.mark.e2e
def test_the_budget_stops_model_calls_that_would_exceed_it(
    agent: Path, llm_server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")
    llm_server.script(text(FIX_ANSWER))
    settings = _settings(agent, llm_server, ["llm"], max_output_tokens=512)
    settings = settings.model_copy(
        update={"budget": settings.budget.model_copy(update={"cycle_tokens": 600})}
    )

    report = run_cycle(settings, only={_index_error(agent)})

    assert llm_server.requests == []  # the prompt alone is bigger than what is left
    [outcome] = report.outcomes
    assert outcome.outcome == "no_candidate"
    assert any("budget" in note for note in report.notes), report.notes


@pytest.mark.e2e
@pytest.mark.parametrize("problem", ["missing key", "unreachable endpoint"])
def test_a_broken_model_setup_is_one_note_and_the_repair_engine_carries_on(
    agent: Path, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if problem == "missing key":
        monkeypatch.delenv(KEY_ENV, raising=False)
    else:
        monkeypatch.setenv(KEY_ENV, "test-key")
    settings = _settings(agent, None, ["llm", "repair"])

    report = run_cycle(settings, only={_index_error(agent)})

    llm_notes = [n for n in report.notes if "llm" in n or KEY_ENV in n or "127.0.0.1:9" in n]
    assert len(llm_notes) == 1 and "\n" not in llm_notes[0], report.notes
    if problem == "missing key":
        assert KEY_ENV in llm_notes[0]
    [outcome] = report.outcomes
    assert outcome.outcome == "promoted" and outcome.proposer == "repair"
