"""Prices -> dollars, token estimates before a call, and the running tallies."""

from __future__ import annotations

import math

import pytest

from theseus.errors import TheseusError
from theseus.propose.llm.accounting import (
    Tally,
    check_prices,
    cost_usd,
    estimate_prompt_tokens,
    estimate_tokens,
)
from theseus.propose.llm.client import Message, ToolCall, ToolSpec, Usage


def test_cost_is_per_million_tokens_in_and_out() -> None:
    prices = {"input": 3.0, "output": 15.0}
    assert cost_usd(Usage(1_000_000, 0), prices) == pytest.approx(3.0)
    assert cost_usd(Usage(2000, 500), prices) == pytest.approx((2000 * 3 + 500 * 15) / 1e6)
    assert cost_usd(Usage(2000, 500), {"output": 2.0}) == pytest.approx(0.001)
    assert cost_usd(Usage(2000, 500), {}) == 0.0


def test_unknown_price_keys_are_named() -> None:
    with pytest.raises(TheseusError, match=r"unknown key\(s\): cached, inputs") as caught:
        check_prices({"inputs": 1.0, "cached": 0.1, "output": 2.0})
    assert "'input' and 'output'" in str(caught.value)
    with pytest.raises(TheseusError, match="unknown"):
        cost_usd(Usage(1, 1), {"prompt": 1.0})


@pytest.mark.parametrize("value", [-1.0, math.inf, math.nan])
def test_prices_must_be_finite_and_not_negative(value: float) -> None:
    with pytest.raises(TheseusError, match=r"prices\.input"):
        check_prices({"input": value})


@pytest.mark.parametrize("value", ["0.15", True, None])
def test_prices_must_be_numbers(value: object) -> None:
    with pytest.raises(TheseusError, match=r"prices\.output is not a number"):
        check_prices({"output": value})  # type: ignore[dict-item]


def test_valid_tables_pass() -> None:
    check_prices({})
    check_prices({"input": 0, "output": 0.6})


def test_token_estimate_is_conservative_and_rounds_up() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("x" * 35) == 10
    assert estimate_tokens("x" * 36) == 11
    prose = "The quick brown fox jumps over the lazy dog. " * 20
    assert estimate_tokens(prose) >= len(prose) / 4  # at least the ~4 chars/token of prose


def test_prompt_estimate_counts_messages_calls_and_tools() -> None:
    base = [Message("user", "x" * 35)]
    assert estimate_prompt_tokens(base) == 4 + 10
    call = ToolCall("c1", "read", {"path": "a.py"})
    with_call = [*base, Message("assistant", "", tool_calls=(call,))]
    assert estimate_prompt_tokens(with_call) > estimate_prompt_tokens(base) + 4
    tool = ToolSpec("read", "Read a file", {"type": "object"})
    assert estimate_prompt_tokens(base, [tool]) > estimate_prompt_tokens(base)


def test_tally_adds_merges_and_reports() -> None:
    candidate = Tally()
    candidate.add(Usage(100, 50), 0.25)
    candidate.add(Usage(10, 5))
    assert (candidate.calls, candidate.tokens) == (2, 165)
    cycle = Tally()
    cycle.merge(candidate)
    cycle.merge(candidate)
    assert cycle.as_dict() == {
        "calls": 4,
        "input_tokens": 220,
        "output_tokens": 110,
        "tokens": 330,
        "cost_usd": 0.5,
    }
