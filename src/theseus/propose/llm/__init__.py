"""Model clients for the LLM and coding-agent proposers.

Everything above this package talks to :class:`ChatClient` and catches :class:`LLMError`;
the provider adapters (``openai`` for every OpenAI-compatible endpoint, ``anthropic`` for
Claude) and the key handling live here, with token and cost accounting beside them, so no
proposer ever touches an SDK, an HTTP error or a key.

The SDKs take seconds to import, so nothing here imports them until a client is made:
``make_client`` is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from theseus.propose.llm.accounting import (
    Tally,
    check_prices,
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

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name == "make_client":
        from theseus.propose.llm.providers import make_client

        return make_client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
