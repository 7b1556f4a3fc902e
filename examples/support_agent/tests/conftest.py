"""Shared fixtures of the support agent's tests. Recording is off: tests are not evidence."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ["THESEUS_RECORD"] = "0"


@pytest.fixture
def ask() -> Any:
    """Send messages of one session dated 2024-06-12 (a Wednesday); returns the reply."""
    from support_agent.app import handle

    state: dict[str, Any] = {}

    def send(text: str, day: str = "2024-06-12") -> dict[str, Any]:
        reply: dict[str, Any] = handle({"text": text, "date": day}, state)
        return reply

    send.state = state  # type: ignore[attr-defined]
    return send
