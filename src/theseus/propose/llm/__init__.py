"""Model clients for the LLM and coding-agent proposers.

Everything above this package talks to :class:`ChatClient` and catches :class:`LLMError`;
the provider adapters (``openai`` for every OpenAI-compatible endpoint, ``anthropic`` for
Claude) and the key handling live here, with token and cost accounting beside them, so no
proposer ever touches an SDK, an HTTP error or a key.

The SDKs take seconds to import, so nothing here imports them until a client is made
(``make_client`` loads the one adapter it needs).
"""

from __future__ import annotations

from theseus.endpoints import check_prices
from theseus.propose.llm.accounting import (
    Tally,
    cost_usd,
    estimate_prompt_tokens,
    estimate_tokens,
)
from theseus.propose.llm.client import (
    RAW_ARGUMENTS_KEY,
    ChatClient,
    LLMError,
    LLMErrorKind,
    Message,
    Reply,
    ToolCall,
    ToolSpec,
    Usage,
)
from theseus.propose.llm.providers import make_client

__all__ = [
    "RAW_ARGUMENTS_KEY",
    "ChatClient",
    "LLMError",
    "LLMErrorKind",
    "Message",
    "Reply",
    "Tally",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "check_prices",
    "cost_usd",
    "estimate_prompt_tokens",
    "estimate_tokens",
    "make_client",
]
