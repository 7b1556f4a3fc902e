"""Fixtures for the change stage: small projects on disk, with and without git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from project_files import write

from theseus.config import Settings, parse_settings


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(
        root,
        {
            "agent/__init__.py": "",
            "agent/skills.py": "def refund(amount):\n    return amount * 100\n",
            "agent/core.py": "def handle(message, state):\n    return message\n",
            "tests/test_agent.py": "def test_ok():\n    assert True\n",
        },
    )
    return root


@pytest.fixture
def repo(project: Path) -> Path:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "first")
    return project


def make_settings(root: Path, **policy: object) -> Settings:
    return parse_settings(
        {
            "agent": {"package": "agent", "entrypoint": "agent.core:handle"},
            "paths": {
                "mutable": ["agent/**/*.py"],
                "protected": ["agent/core.py"],
                "protected_signatures": ["agent.skills:refund"],
            },
            "policy": policy,
        },
        root=root,
    )


@pytest.fixture
def settings_for() -> object:
    """make_settings(root, **policy) as a fixture (test modules cannot import conftest)."""
    return make_settings


@pytest.fixture
def run_git() -> object:
    return git
