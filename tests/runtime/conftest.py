from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from agentrepo import make_repo

from theseus.config import Settings, load_settings


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One real git repo per test module (git commits take a moment on a busy machine)."""
    root = tmp_path_factory.mktemp("agentrepo") / "agent"
    return root, make_repo(root)


def fresh_settings(root: Path, state: Path, **runtime: Any) -> Settings:
    """The repo's settings with a private state folder (.theseus) and runtime overrides."""

    class PerTest(Settings):
        @property
        def state_dir(self) -> Path:
            return state

    data = load_settings(root).model_dump()
    data["evidence"]["store"] = str(state / "evidence.db")
    data["runtime"].update(runtime)
    return PerTest.model_validate({**data, "root": root})


@pytest.fixture
def settings(agent: tuple[Path, dict[str, str]], tmp_path: Path) -> Settings:
    return fresh_settings(agent[0], tmp_path / ".theseus")


@pytest.fixture
def commits(agent: tuple[Path, dict[str, str]]) -> dict[str, str]:
    return agent[1]
