"""The ``llm`` proposer: ask a model for a fix, several times, and keep the usable answers.

One prompt per batch (:mod:`theseus.propose.llm.prompt`), sent ``[propose.llm] samples``
times; each answer is parsed into a diff (:mod:`theseus.propose.llm.answer`) and handed on as
a candidate, so it meets the same policy, sandbox verification and gate as every other
proposer's. The proposer guards three things the cycle cannot see from outside:

- money: before each call it asks the cycle's :class:`Spending` whether the call could
  overrun the budget (the prompt's estimated tokens plus the whole output allowance), and
  stops first if so; after the call it charges what the provider actually reported;
- the person watching: a dead endpoint, a wrong key or an unknown model is one line in
  ``ctx.notes`` and the proposer stops (the others carry on); an answer that is not a reply
  at all skips only that sample;
- the record: lazy answers (prose, stubs, no change, edits that do not apply) go to
  ``ctx.on_rejected``; duplicates of an earlier sample or attempt are dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator

from theseus.change.candidate import Candidate
from theseus.config import Settings
from theseus.errors import TheseusError
from theseus.propose.base import ProposalContext, Proposer, Rejected
from theseus.propose.llm.accounting import cost_usd, estimate_prompt_tokens
from theseus.propose.llm.answer import AnswerRejected, parse_answer
from theseus.propose.llm.client import ChatClient, LLMError, Usage
from theseus.propose.llm.prompt import build_messages
from theseus.propose.llm.providers import make_client
from theseus.propose.llm.redact import Redactor
from theseus.propose.registry import SharedResources, register_proposer
from theseus.propose.repair.proposer import diff_key

LATER_SAMPLE_TEMPERATURE = 0.8
"""Sample 1 uses the provider's default; later ones this, so they are not all the same."""

_SKIP_SAMPLE = frozenset({"bad_response"})
_CUT_OFF = frozenset({"length", "max_tokens"})


class LLMProposer:
    """Candidates from one chat model; ``name`` is ``"llm"``."""

    name = "llm"

    def __init__(self, client: ChatClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        Redactor(settings.propose.llm.redact)  # a bad pattern fails here, before any batch

    def propose(self, ctx: ProposalContext) -> Iterator[Candidate]:
        batch = ctx.batch
        if batch is None:
            raise TheseusError(
                "the llm proposer needs a failure batch and got none",
                hint="run it through `theseus evolve`, which hands it the batch to fix",
            )
        llm = self.settings.propose.llm
        redactor = Redactor(llm.redact)
        messages = build_messages(ctx, self.settings, redactor)
        prompt_tokens = estimate_prompt_tokens(messages)
        worst = Usage(input_tokens=prompt_tokens, output_tokens=llm.max_output_tokens)
        worst_cost = cost_usd(worst, llm.prices)
        seen: set[str] = set()
        made = 0
        for sample in range(1, llm.samples + 1):
            if ctx.budget.expired() or made >= ctx.budget.max_candidates:
                return
            if ctx.spending is not None:
                over = ctx.spending.would_exceed(tokens=worst.total, cost_usd=worst_cost)
                if over:
                    self._note(ctx, f"llm: stopped before sample {sample}: {over}")
                    return
            temperature = LATER_SAMPLE_TEMPERATURE if sample > 1 else None
            try:
                reply = self.client.complete(
                    messages, max_tokens=llm.max_output_tokens, temperature=temperature
                )
            except LLMError as exc:
                self._charge(ctx, exc.usage)
                if exc.kind in _SKIP_SAMPLE:
                    self._note(ctx, f"llm: sample {sample} skipped: {exc.line()}")
                    continue
                self._note(ctx, f"llm: {exc.line()}")
                return
            cost = self._charge(ctx, reply.usage)
            try:
                answer = parse_answer(
                    reply.text, ctx.root, ctx.rules, self.settings, redactor=redactor
                )
            except AnswerRejected as exc:
                reason = f"{exc.kind}: {exc.reason}"
                if reply.stop_reason in _CUT_OFF:
                    reason += " (the answer was cut off: raise [propose.llm] max_output_tokens)"
                if ctx.on_rejected is not None:
                    ctx.on_rejected(
                        Rejected(
                            proposer=self.name,
                            reason=reason,
                            excerpt=exc.excerpt,
                            tokens=reply.usage.total,
                            cost_usd=cost,
                        )
                    )
                continue
            key = diff_key(answer.diff)
            if key in seen or ctx.already_tried(key):
                continue
            seen.add(key)
            made += 1
            yield Candidate.create(
                base_commit=ctx.base_commit,
                diff=answer.diff,
                proposer=self.name,
                signature=batch.signature,
                rationale=answer.rationale,
                meta={
                    "model": reply.model or self.client.model,
                    "sample": sample,
                    "input_tokens": reply.usage.input_tokens,
                    "output_tokens": reply.usage.output_tokens,
                    "cost_usd": round(cost, 6),
                    "attempt_key": key,
                },
            )

    def _charge(self, ctx: ProposalContext, usage: Usage) -> float:
        """Charge ``usage`` to the cycle's budget; the dollars it cost."""
        cost = cost_usd(usage, self.settings.propose.llm.prices)
        if ctx.spending is not None and (usage.total or cost):
            ctx.spending.charge(tokens=usage.total, cost_usd=cost)
        return cost

    @staticmethod
    def _note(ctx: ProposalContext, line: str) -> None:
        if ctx.notes is not None:
            ctx.notes(line)


def model_seconds(settings: Settings, turns: int) -> float:
    """The longest ``turns`` model calls may take, retries included."""
    llm = settings.propose.llm
    return llm.timeout * (llm.max_retries + 1) * turns


def shared_client(settings: Settings, shared: SharedResources) -> ChatClient:
    """The cycle's one ``[propose.llm]`` client (made on first use; LLMError without a key)."""
    return shared.once("chat_client", lambda: make_client(settings.propose.llm))


@register_proposer("llm", seconds=lambda s: model_seconds(s, s.propose.llm.samples))
def _llm(settings: Settings, shared: SharedResources) -> Proposer:
    return LLMProposer(shared_client(settings, shared), settings)
