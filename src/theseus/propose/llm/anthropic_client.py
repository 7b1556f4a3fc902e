"""ChatClient over the official ``anthropic`` SDK (Claude, messages API).

The messages API differs from chat completions in ways the rest of Theseus should never see:
the system prompt is a separate field, roles must alternate, tool calls are ``tool_use``
content blocks on the assistant turn and their results are ``tool_result`` blocks on the
next *user* turn, and ``max_tokens`` is required. This adapter maps the neutral
:class:`Message` list onto that shape (merging consecutive turns of one role, so several
tool results become one user turn) and maps the answer and every SDK failure back, with
the same :class:`LLMError` kinds and one-line messages as the OpenAI adapter. The SDK
retries 408/409/429/5xx/529 and connection errors with backoff and honours ``Retry-After``.

``temperature`` is ignored: the API version this SDK sends (2026-10-21) removed sampling
parameters, and several samples still differ by the model's own randomness.

Usage counts cache writes and reads as input tokens: that overstates the bill a little
(cache reads are cheaper) and never understates it, which is what a budget needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anthropic
from anthropic.types import Message as WireMessage

from theseus.propose.llm.client import (
    RAW_ARGUMENTS_KEY,
    Message,
    Reply,
    SDKClient,
    SDKErrors,
    ToolCall,
    ToolSpec,
    Usage,
    tool_result_id,
)

ANTHROPIC_URL = "https://api.anthropic.com"
_STOP_WORDS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
}


class AnthropicChatClient(SDKClient):
    """A :class:`ChatClient` for one Claude model (or an Anthropic-compatible endpoint)."""

    provider = "anthropic"
    default_url = ANTHROPIC_URL
    sdk_errors = SDKErrors(
        timeout=anthropic.APITimeoutError,
        connection=anthropic.APIConnectionError,
        status=anthropic.APIStatusError,
        validation=anthropic.APIResponseValidationError,
        base=anthropic.AnthropicError,
    )

    def _connect(self, api_key: str) -> None:
        self._sdk = anthropic.Anthropic(
            api_key=api_key,
            base_url=self.url,
            timeout=self.endpoint.timeout,
            max_retries=self.endpoint.max_retries,
        )

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Reply:
        system, turns = to_wire(messages)
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens or self.max_output_tokens,
            "messages": turns,
        }
        if system:
            request["system"] = system
        if tools:
            request["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in tools
            ]
        # ``temperature`` is accepted for the protocol and not sent: API version 2026-10-21,
        # which this SDK speaks, removed sampling parameters and answers 400 to them.
        return self._reply(self._call(self._sdk.messages.create, request))

    def _reply(self, response: object) -> Reply:
        where = self.endpoint
        if not isinstance(response, WireMessage) or response.content is None:
            raise where.bad_response("expected a message with content blocks")
        usage = _usage(response)
        if usage is None:
            raise where.bad_response("the message reports no usage")
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in response.content:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                arguments = block.input
                if not isinstance(arguments, dict):
                    arguments = {RAW_ARGUMENTS_KEY: str(arguments)}
                calls.append(ToolCall(block.id, block.name, dict(arguments)))
        text = "".join(texts)
        stop = response.stop_reason or ""
        if stop == "refusal":
            raise where.refused(text, usage)
        return Reply(
            text=text,
            tool_calls=tuple(calls),
            usage=usage,
            model=response.model or self.model,
            stop_reason=_STOP_WORDS.get(stop, stop),
        )


def to_wire(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """``(system prompt, turns)``: system messages joined, the rest as alternating turns of
    content blocks, consecutive same-role messages merged into one turn."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            system.append(message.content)
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]["content"]
            # tool_result blocks must open a user turn: keep them ahead of text.
            results = [b for b in previous + blocks if b["type"] == "tool_result"]
            others = [b for b in previous + blocks if b["type"] != "tool_result"]
            turns[-1]["content"] = results + others
        else:
            turns.append({"role": role, "content": blocks})
    return "\n\n".join(part for part in system if part), turns


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": tool_result_id(message),
                "content": message.content,
            }
        ]
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        )
    return blocks


def _usage(response: WireMessage) -> Usage | None:
    usage = response.usage
    if usage is None:
        return None
    cached = (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    return Usage((usage.input_tokens or 0) + cached, usage.output_tokens or 0)
