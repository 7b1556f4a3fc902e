"""The llm proposer: samples, budget checks before each call and charges after, errors as
notes, lazy answers recorded, duplicates dropped; and end to end through the real OpenAI SDK
client against the scripted local server."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from llm_example import BUGGY_GUARD, FIXED_GUARD, UNITS, context, example_project, keyerror_batch
from scripted_llm import ScriptedLLMServer, error, malformed, text

from theseus.change import check_policy
from theseus.change.apply import patched_texts
from theseus.config import Settings
from theseus.errors import TheseusError
from theseus.gate.budgets import CycleBudget
from theseus.propose.base import Attempt, ProposalContext, Rejected
from theseus.propose.llm import make_client
from theseus.propose.llm.accounting import estimate_prompt_tokens
from theseus.propose.llm.client import LLMError, Message, Reply, ToolSpec, Usage
from theseus.propose.llm.proposer import LATER_SAMPLE_TEMPERATURE, LLMProposer
from theseus.propose.repair.proposer import diff_key

FIX = (
    "Unknown target currencies slip past the guard.\n\n"
    f"{UNITS}\n<<<<<<< SEARCH\n{BUGGY_GUARD}=======\n{FIXED_GUARD}>>>>>>> REPLACE\n"
)
OTHER_FIX = (
    f"{UNITS}\n<<<<<<< SEARCH\n    value = usd * RATES[target]\n=======\n"
    "    value = usd * RATES.get(target, Decimal(1))\n>>>>>>> REPLACE\n"
)
LAZY = "The guard should use `or` instead of `and`; apply that change."
SUBPROCESS = (
    f"{UNITS}\n<<<<<<< SEARCH\n{BUGGY_GUARD}=======\n"
    "    import subprocess\n\n    subprocess.run(['true'])\n"
    f"{FIXED_GUARD}>>>>>>> REPLACE\n"
)
KEY_ENV = "THESEUS_TEST_LLM_KEY"

Step = str | LLMError


class FakeChat:
    """An in-memory ChatClient: answers from a list, records what it was asked."""

    provider = "fake"
    model = "fake-model"

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self.usage = Usage(1_000, 200)
        self.calls: list[dict[str, Any]] = []

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Reply:
        self.calls.append(
            {"messages": list(messages), "max_tokens": max_tokens, "temperature": temperature}
        )
        step = self.steps.pop(0)
        if isinstance(step, LLMError):
            raise step
        return Reply(text=step, usage=self.usage, model="fake-model-0613")


Project = tuple[Path, Settings]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return example_project(tmp_path_factory.mktemp("proposer"))


def with_llm(settings: Settings, **changes: Any) -> Settings:
    llm = settings.propose.llm.model_copy(update=changes)
    return settings.model_copy(update={"propose": settings.propose.model_copy(update={"llm": llm})})


class Watch:
    """What the proposer told the cycle: notes, rejected answers, spending."""

    def __init__(self, budget: CycleBudget | None = None) -> None:
        self.notes: list[str] = []
        self.rejected: list[Rejected] = []
        self.budget = budget if budget is not None else CycleBudget()

    def attach(self, ctx: ProposalContext) -> ProposalContext:
        ctx.notes = self.notes.append
        ctx.on_rejected = self.rejected.append
        ctx.spending = self.budget
        return ctx


def run(
    project: Project,
    chat: Any,
    watch: Watch,
    *,
    samples: int = 3,
    attempts: tuple[Attempt, ...] = (),
    **llm: Any,
) -> list[Any]:
    root, base = project
    settings = with_llm(base, samples=samples, **llm)
    ctx = watch.attach(context(root, settings, keyerror_batch(root), attempts=attempts))
    return list(LLMProposer(chat, settings).propose(ctx))


def test_samples_become_candidates_lazy_ones_rejected_duplicates_dropped(
    project: Project,
) -> None:
    chat = FakeChat([FIX, LAZY, FIX, OTHER_FIX])
    watch = Watch()
    found = run(project, chat, watch, samples=4, prices={"input": 1.0, "output": 10.0})
    assert [c.meta["sample"] for c in found] == [1, 4]
    first = found[0]
    assert first.proposer == "llm" and first.signature == "keyerror-units-convert"
    assert first.base_commit == "base123"
    assert first.rationale == "Unknown target currencies slip past the guard."
    assert first.meta == {
        "model": "fake-model-0613",
        "sample": 1,
        "input_tokens": 1_000,
        "output_tokens": 200,
        "cost_usd": 0.003,
        "attempt_key": diff_key(first.diff),
    }
    assert FIXED_GUARD in (patched_texts(project[0], first.diff).texts[UNITS] or "")
    assert len(watch.rejected) == 1
    assert watch.rejected[0].reason.startswith("prose_only:")
    assert watch.rejected[0].excerpt == LAZY and watch.rejected[0].tokens == 1_200
    assert watch.budget.tokens == 4 * 1_200
    assert watch.budget.cost_usd == pytest.approx(4 * 0.003)
    assert [call["temperature"] for call in chat.calls] == [None] + [LATER_SAMPLE_TEMPERATURE] * 3
    assert {call["max_tokens"] for call in chat.calls} == {4096}


def test_a_diff_tried_in_an_earlier_cycle_is_dropped(project: Project) -> None:
    first = run(project, FakeChat([FIX]), Watch(), samples=1)[0]
    again = run(
        project,
        FakeChat([FIX]),
        Watch(),
        samples=1,
        attempts=(Attempt(first.meta["attempt_key"], "failed", "still raises"),),
    )
    assert again == []


def test_the_budget_is_asked_before_each_call(project: Project) -> None:
    chat = FakeChat([FIX, OTHER_FIX, FIX])
    probe = FakeChat([FIX])
    run(project, probe, Watch(), samples=1)

    worst = estimate_prompt_tokens(probe.calls[0]["messages"]) + 4096
    # room for one worst-case call, but not for a second after the first is charged
    watch = Watch(CycleBudget(max_tokens=worst + 1_200 - 1))
    found = run(project, chat, watch, samples=3)
    assert len(chat.calls) == 1 and len(found) == 1
    assert len(watch.notes) == 1
    assert watch.notes[0].startswith("llm: stopped before sample 2: budget:")


def test_a_cost_limit_stops_the_proposer_before_the_first_call(project: Project) -> None:
    chat = FakeChat([FIX])
    watch = Watch(CycleBudget(max_cost_usd=0.001))
    assert run(project, chat, watch, samples=2, prices={"input": 5.0, "output": 15.0}) == []
    assert chat.calls == []
    assert "stopped before sample 1" in watch.notes[0] and "$0.00" in watch.notes[0]


def test_an_expired_proposal_budget_makes_no_call(project: Project) -> None:
    root, settings = project
    chat = FakeChat([FIX])
    ctx = context(root, settings, keyerror_batch(root), seconds=-1.0)
    assert list(LLMProposer(chat, settings).propose(ctx)) == []
    assert chat.calls == []


def test_a_dead_endpoint_is_one_note_and_the_proposer_stops(project: Project) -> None:
    dead = LLMError("cannot reach openai endpoint", kind="unreachable", hint="check base_url")
    chat = FakeChat([dead, FIX])
    watch = Watch()
    assert run(project, chat, watch) == []
    assert len(chat.calls) == 1
    assert watch.notes == ["llm: cannot reach openai endpoint (check base_url)"]


def test_a_bad_response_skips_only_that_sample_and_its_tokens_are_charged(
    project: Project,
) -> None:
    bad = LLMError("not a reply", kind="bad_response", usage=Usage(500, 20))
    chat = FakeChat([bad, FIX])
    watch = Watch()
    found = run(project, chat, watch, samples=2)
    assert [c.meta["sample"] for c in found] == [2]
    assert watch.notes == ["llm: sample 1 skipped: not a reply"]
    assert watch.budget.tokens == 520 + 1_200


def test_an_answer_importing_subprocess_parses_and_the_policy_rejects_it(
    project: Project,
) -> None:
    root, settings = project
    found = run(project, FakeChat([SUBPROCESS]), Watch(), samples=1)
    assert len(found) == 1
    report = check_policy(found[0].diff, settings, root)
    assert not report.ok and "process" in report.summary()


def test_no_batch_is_a_one_line_error(project: Project) -> None:
    root, settings = project
    ctx = context(root, settings, None)
    with pytest.raises(TheseusError) as caught:
        list(LLMProposer(FakeChat([FIX]), settings).propose(ctx))
    assert "needs a failure batch" in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_redact_pattern_fails_when_the_proposer_is_made(project: Project) -> None:
    with pytest.raises(TheseusError, match="redact pattern"):
        LLMProposer(FakeChat([]), with_llm(project[1], redact=["(unclosed"]))


# -- through the real OpenAI SDK client and the scripted server ------------------------------


def scripted(server: ScriptedLLMServer | None, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "provider": "openai",
        "model": "scripted-model",
        "base_url": server.base_url if server is not None else "http://127.0.0.1:9/v1",
        "api_key_env": KEY_ENV,
        "timeout": 5.0,
        "max_retries": 0,
        "max_output_tokens": 512,
        "prices": {"input": 2.0, "output": 8.0},
    }
    values.update(changes)
    return values


def test_end_to_end_with_the_openai_client_and_scripted_server(
    project: Project, llm_server: ScriptedLLMServer
) -> None:
    root, base = project
    settings = with_llm(base, **scripted(llm_server), samples=3)
    llm_server.script(
        text(FIX, input_tokens=900, output_tokens=120),
        malformed("{not json"),
        text("# " + FIX.replace(FIXED_GUARD, FIXED_GUARD + "    # TODO: rates\n")),
    )
    chat = make_client(settings.propose.llm, env={KEY_ENV: "test-key"})
    watch = Watch()
    batch = keyerror_batch(root, text="CAD please, I am ann@example.com")
    ctx = watch.attach(context(root, settings, batch))
    found = list(LLMProposer(chat, settings).propose(ctx))
    assert [c.meta["sample"] for c in found] == [1]
    assert found[0].meta["input_tokens"] == 900 and found[0].meta["model"]
    assert found[0].meta["cost_usd"] == pytest.approx((900 * 2.0 + 120 * 8.0) / 1e6)
    assert len(watch.notes) == 1 and watch.notes[0].startswith("llm: sample 2 skipped:")
    assert [r.reason.split(":")[0] for r in watch.rejected] == ["placeholder"]
    sent = llm_server.requests[0]
    assert sent["model"] == "scripted-model" and sent["max_tokens"] == 512
    prompt = " ".join(str(m["content"]) for m in sent["messages"])
    assert "ann@example.com" not in prompt and "[REDACTED:email#1]" in prompt
    assert "<<<<<<< SEARCH" in prompt and "value = usd * RATES[target]" in prompt


def test_a_wrong_key_is_one_note_and_no_candidate(
    project: Project, llm_server: ScriptedLLMServer
) -> None:
    root, base = project
    settings = with_llm(base, **scripted(llm_server), samples=3)
    llm_server.script(text(FIX))
    chat = make_client(settings.propose.llm, env={KEY_ENV: "wrong-key"})
    watch = Watch()
    ctx = watch.attach(context(root, settings, keyerror_batch(root)))
    assert list(LLMProposer(chat, settings).propose(ctx)) == []
    assert len(watch.notes) == 1 and "rejected the API key" in watch.notes[0]
    assert "wrong-key" not in watch.notes[0]
    assert llm_server.remaining() == 1


def test_an_unreachable_endpoint_is_one_note(project: Project) -> None:
    root, base = project
    settings = with_llm(base, **scripted(None), samples=2)
    chat = make_client(settings.propose.llm, env={KEY_ENV: "k"})
    watch = Watch()
    ctx = watch.attach(context(root, settings, keyerror_batch(root)))
    assert list(LLMProposer(chat, settings).propose(ctx)) == []
    assert len(watch.notes) == 1 and "cannot reach" in watch.notes[0]


def test_a_server_error_after_retries_stops_the_proposer(
    project: Project, llm_server: ScriptedLLMServer
) -> None:
    root, base = project
    settings = with_llm(base, **scripted(llm_server), samples=2)
    llm_server.script(error(500, "boom"), text(FIX))
    chat = make_client(settings.propose.llm, env={KEY_ENV: "test-key"})
    watch = Watch()
    ctx = watch.attach(context(root, settings, keyerror_batch(root)))
    assert list(LLMProposer(chat, settings).propose(ctx)) == []
    assert len(watch.notes) == 1 and "keeps failing" in watch.notes[0]


def test_an_answer_cut_off_at_the_token_limit_says_so(
    project: Project, llm_server: ScriptedLLMServer
) -> None:
    root, base = project
    settings = with_llm(base, **scripted(llm_server), samples=1)
    llm_server.script(text(FIX.split("=======")[0], stop_reason="length"))
    chat = make_client(settings.propose.llm, env={KEY_ENV: "test-key"})
    watch = Watch()
    ctx = watch.attach(context(root, settings, keyerror_batch(root)))
    assert list(LLMProposer(chat, settings).propose(ctx)) == []
    (only,) = watch.rejected
    assert only.reason.startswith("malformed:") and "max_output_tokens" in only.reason
