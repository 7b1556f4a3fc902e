from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # supervised.py, beside these tests

from agentrepo import fresh_settings, make_repo

from theseus.config import Settings


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One real git repo per test module (git commits take a moment on a busy machine)."""
    root = tmp_path_factory.mktemp("agentrepo") / "agent"
    return root, make_repo(root)


@pytest.fixture
def settings(agent: tuple[Path, dict[str, str]], tmp_path: Path) -> Settings:
    return fresh_settings(agent[0], tmp_path / ".theseus")


@pytest.fixture
def commits(agent: tuple[Path, dict[str, str]]) -> dict[str, str]:
    return agent[1]
