"""Shared fixtures of the travel agent's tests: no model, no network, recording off.

The harness is tested the way an LLM agent's harness should be: with the model's decisions
*scripted*. ``fake_model`` replaces the OpenAI client (``model.use_client``) by one that
returns the tool call (or text) a test queued, as a real ``openai`` ``ChatCompletion``, and
keeps every request it was sent so a test can check what the model was asked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ["THESEUS_RECORD"] = "0"


class FakeModel:
    """Stands in for ``openai.OpenAI()``: ``.chat.completions.create(**request)``."""

    def __init__(self) -> None:
        self.queued: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.chat = self
        self.completions = self

    def calls(self, name: str, **arguments: Any) -> FakeModel:
        """The next request is answered by a call of tool ``name`` with ``arguments``."""
        call = {"id": "call_1", "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)}}  # fmt: skip
        self.queued.append({"role": "assistant", "content": None, "tool_calls": [call]})
        return self

    def says(self, text: str) -> FakeModel:
        """The next request is answered in words."""
        self.queued.append({"role": "assistant", "content": text})
        return self

    def create(self, **request: Any) -> Any:
        from openai.types.chat import ChatCompletion

        self.requests.append(request)
        message = self.queued.pop(0)
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        return ChatCompletion.model_validate(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 0,
                "model": request["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            }
        )


@pytest.fixture
def fake_model() -> Iterator[FakeModel]:
    from travel_agent import model

    fake = FakeModel()
    model.use_client(fake)
    yield fake
    model.use_client(None)
