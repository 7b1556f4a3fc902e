"""Tokens and money: what a model call cost, before and after it is made.

The cycle's budget caps tokens and dollars; proposers charge it after each call and ask it
before the next. This module turns the provider's usage into dollars with the price table
from ``[propose.llm] prices`` (USD per million tokens, ``input`` and ``output``), estimates
the size of a prompt before it is sent (to refuse a call that would overrun the budget), and
keeps running totals per candidate and per cycle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from theseus.endpoints import check_prices
from theseus.propose.llm.client import Message, ToolSpec, Usage

_PER_MILLION = 1_000_000
_CHARS_PER_TOKEN = 3.5
_MESSAGE_OVERHEAD = 4  # role markers and separators each provider adds per message


def cost_usd(usage: Usage, prices: Mapping[str, float]) -> float:
    """Dollars ``usage`` cost at ``prices`` (USD per million tokens); a missing key is $0."""
    check_prices(prices)
    return (
        usage.input_tokens * float(prices.get("input", 0.0))
        + usage.output_tokens * float(prices.get("output", 0.0))
    ) / _PER_MILLION


def estimate_tokens(text: str) -> int:
    """A conservative token count for ``text``, without a tokenizer: ``ceil(chars / 3.5)``.

    Tokenizers average about 4 characters per token on English prose and 3-4 on code, so
    dividing by 3.5 overestimates slightly for most prompts; budgets checked against it stop
    a little early rather than a little late.
    """
    return math.ceil(len(text) / _CHARS_PER_TOKEN) if text else 0


def estimate_prompt_tokens(messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
    """An estimate of the input tokens a call with ``messages`` and ``tools`` will use."""
    total = 0
    for message in messages:
        total += _MESSAGE_OVERHEAD + estimate_tokens(message.content)
        for call in message.tool_calls:
            total += estimate_tokens(call.name) + estimate_tokens(repr(call.arguments))
    for tool in tools:
        total += estimate_tokens(tool.name + tool.description + repr(tool.parameters))
    return total


@dataclass
class Tally:
    """Running totals of model use: per candidate, per proposer run or per cycle."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, usage: Usage, cost: float = 0.0) -> None:
        """Count one call that used ``usage`` and cost ``cost`` dollars."""
        self.calls += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cost_usd += cost

    def merge(self, other: Tally) -> None:
        """Add another tally's totals (a candidate's into its cycle's)."""
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd

    def as_dict(self) -> dict[str, int | float]:
        """For the audit log and the summary: calls, tokens in/out, total and cost."""
        data: dict[str, int | float] = asdict(self)
        data["tokens"] = self.tokens
        data["cost_usd"] = round(self.cost_usd, 6)
        return data
