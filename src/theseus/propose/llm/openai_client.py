"""ChatClient over the official ``openai`` SDK: OpenAI and every OpenAI-compatible server.

vLLM, Ollama, llama.cpp's server, LM Studio and OpenRouter all speak the chat-completions
wire format, so one adapter serves them all through ``base_url``. The SDK does the HTTP:
timeouts, retries of 408/409/429/5xx and connection errors with exponential backoff, and
``Retry-After``. This module only translates: neutral messages and tools in, a
:class:`Reply` out, and every SDK failure into one :class:`LLMError` whose line names the
endpoint and the model and says what to change.

Choices worth knowing:

* Tool-call arguments that are not a JSON object are kept as ``{"_raw": text}``
  (:data:`RAW_ARGUMENTS_KEY`), not turned into an error; see :func:`decode_arguments`.
* A server that reports no usage (some local ones) is charged an estimate
  (:func:`estimate_prompt_tokens` for input, :func:`estimate_tokens` for output), so budgets
  still bind.
* The output cap is sent as ``max_completion_tokens`` to api.openai.com (its reasoning models
  reject ``max_tokens``) and as ``max_tokens`` to everything else (what compatible servers
  all understand).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from theseus.propose.llm.accounting import estimate_prompt_tokens, estimate_tokens
from theseus.propose.llm.client import (
    Message,
    Reply,
    SDKClient,
    SDKErrors,
    ToolCall,
    ToolSpec,
    Usage,
    decode_arguments,
    encode_arguments,
    tool_result_id,
)

OPENAI_URL = "https://api.openai.com/v1"


class OpenAIChatClient(SDKClient):
    """A :class:`ChatClient` for one model behind an OpenAI-compatible endpoint."""

    provider = "openai"
    default_url = OPENAI_URL
    sdk_errors = SDKErrors(
        timeout=openai.APITimeoutError,
        connection=openai.APIConnectionError,
        status=openai.APIStatusError,
        validation=openai.APIResponseValidationError,
        base=openai.OpenAIError,
    )

    def _connect(self, api_key: str) -> None:
        self._official = "api.openai.com" in self.url
        self._sdk = openai.OpenAI(
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
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [to_wire(message) for message in messages],
        }
        cap_name = "max_completion_tokens" if self._official else "max_tokens"
        request[cap_name] = max_tokens or self.max_output_tokens
        if tools:
            request["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ]
        if temperature is not None:
            request["temperature"] = temperature
        response = self._call(self._sdk.chat.completions.create, request)
        return self._reply(response, messages, tools)

    def _reply(
        self, response: object, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> Reply:
        where = self.endpoint
        if not isinstance(response, ChatCompletion):
            raise where.bad_response(f"expected a chat completion, got {type(response).__name__}")
        if not response.choices:
            raise where.bad_response("no choices in the completion")
        choice = response.choices[0]
        message = choice.message
        if message is None:
            raise where.bad_response("the first choice has no message")
        content = message.content or ""
        usage = _usage(response) or Usage(
            estimate_prompt_tokens(messages, tools), estimate_tokens(content)
        )
        finish = choice.finish_reason or ""
        refusal = getattr(message, "refusal", None)
        if refusal or finish == "content_filter":
            raise where.refused(str(refusal or ""), usage)
        calls: list[ToolCall] = []
        for call in message.tool_calls or ():
            function = getattr(call, "function", None)
            if function is None or not function.name:
                raise where.bad_response(f"tool call {call.id!r} names no function", usage)
            calls.append(ToolCall(call.id, function.name, decode_arguments(function.arguments)))
        return Reply(
            text=content,
            tool_calls=tuple(calls),
            usage=usage,
            model=response.model or self.model,
            stop_reason=finish,
        )


def to_wire(message: Message) -> dict[str, Any]:
    """One neutral message in the chat-completions format."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": tool_result_id(message), "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": encode_arguments(call.arguments)},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def _usage(response: ChatCompletion) -> Usage | None:
    usage = response.usage
    if usage is None:
        return None
    return Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0)
