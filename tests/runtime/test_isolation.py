"""The served workers' profile: what it is made of, and every bad config it refuses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from agentrepo import fresh_settings

from theseus.errors import ConfigError
from theseus.runtime import isolation
from theseus.verify.sandbox.backends import BackendInfo

CONFIG = """\
[agent]
name = "a"
package = "agent"
entrypoint = "agent.app:handle"

[paths]
mutable = ["agent/*.py"]
"""


def _settings(tmp_path: Path, **runtime: object):  # type: ignore[no-untyped-def]
    root = tmp_path / "agent"
    root.mkdir(parents=True)
    (root / "agent").mkdir()
    (root / "agent" / "app.py").write_text("def handle(message, state):\n    return message\n")
    (root / "theseus.toml").write_text(CONFIG)
    (root / ".git").mkdir()
    return fresh_settings(root, root / ".theseus", **runtime)


@pytest.mark.parametrize("bad", [".theseus", ".theseus/versions", ".git", ".", "/", "/etc"])
def test_state_paths_that_would_expose_theseus_or_the_repo_are_refused(
    tmp_path: Path, bad: str
) -> None:
    settings = _settings(tmp_path, state_paths=[bad], worker_isolation="none")
    with pytest.raises(ConfigError, match="state_paths") as caught:
        isolation.worker_profile(settings)
    assert "\n" not in caught.value.line()


def test_asking_for_bwrap_where_it_fails_is_an_error_not_a_downgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = BackendInfo("bwrap", False, "user namespaces are disabled")
    monkeypatch.setattr(isolation, "probe", lambda name: broken)
    with pytest.raises(ConfigError, match="user namespaces are disabled"):
        isolation.worker_profile(_settings(tmp_path, worker_isolation="bwrap"))
    auto = isolation.worker_profile(_settings(tmp_path / "b", worker_isolation="auto"))
    assert auto.mode == "none" and "user namespaces are disabled" in auto.reason


def test_declared_state_paths_are_created_and_given_to_the_worker(tmp_path: Path) -> None:
    settings = _settings(tmp_path, state_paths=["var/data"], worker_memory_mb=512)
    profile = isolation.worker_profile(settings)
    folder = settings.root / "var" / "data"
    assert profile.writable == (folder.resolve(),) and folder.is_dir()
    if profile.mode == "bwrap" and os.geteuid() == 0:
        assert folder.stat().st_uid == 65534
    argv, fd = profile.command(["python", "-c", "pass"], tmp_path, tmp_path)
    try:
        assert f"--as={512 * 2**20}" in argv and argv[-3:] == ["python", "-c", "pass"]
    finally:
        if fd is not None:
            os.close(fd)


def test_doctor_looks_without_touching(tmp_path: Path) -> None:
    settings = _settings(tmp_path, state_paths=["var/data"])
    profile = isolation.worker_profile(settings, prepare=False)
    assert not (settings.root / "var").exists()
    names = [name for name, _, _ in profile.protections()]
    assert names == list(isolation.WORKER_PROTECTIONS)


def test_the_environment_never_carries_theseus_secrets(tmp_path: Path) -> None:
    settings = _settings(tmp_path, admin_token_env="MY_ADMIN")
    profile = isolation.worker_profile(settings)
    env = {
        "MY_ADMIN": "t",
        "THESEUS_AUDIT_KEY": "k",
        "THESEUS_WEBHOOK_SECRET": "w",
        "OPENAI_API_KEY": "o",
    }
    cleaned = profile.environment(env)
    assert cleaned.get("OPENAI_API_KEY") == "o"  # the agent's own key stays
    assert not {"MY_ADMIN", "THESEUS_AUDIT_KEY", "THESEUS_WEBHOOK_SECRET"} & set(cleaned)
