"""An in-memory chat client for proposer tests: answers from a script, records every call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from theseus.propose.llm.client import LLMError, Message, Reply, ToolCall, ToolSpec, Usage


def calls(*pairs: tuple[str, dict[str, Any]], usage: Usage = Usage(100, 50)) -> Reply:  # noqa: B008
    return Reply("", tuple(ToolCall(f"c{i}", n, a) for i, (n, a) in enumerate(pairs)), usage)


Step = Reply | LLMError | Callable[[list[Message]], Reply]


class FakeChat:
    """An in-memory ChatClient answering from a list; records every call."""

    provider = "fake"
    model = "fake-model"

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self.calls: list[dict[str, Any]] = []

    def complete(self, messages: Sequence[Message], *, tools: Sequence[ToolSpec] = (),
                 max_tokens: int | None = None, temperature: float | None = None) -> Reply:  # fmt: skip
        self.calls.append(
            {"messages": list(messages), "tools": list(tools), "max_tokens": max_tokens}
        )
        step = self.steps.pop(0) if self.steps else calls(("list_files", {}))
        if isinstance(step, LLMError):
            raise step
        return step(list(messages)) if callable(step) else step
