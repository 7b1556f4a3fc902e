"""Shared test plumbing: the test support modules on the path, and a scripted model server.

``tests/support`` holds helpers that are not tests (the scripted LLM server); with pytest's
importlib import mode they are only importable once their folder is on ``sys.path``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPPORT = str(Path(__file__).parent / "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)

from scripted_llm import ScriptedLLMServer  # noqa: E402


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLMServer]:
    """A started scripted OpenAI/Anthropic-compatible server (key "test-key", model
    "scripted-model"), stopped after the test."""
    with ScriptedLLMServer(api_key="test-key", models=("scripted-model",)) as server:
        yield server
