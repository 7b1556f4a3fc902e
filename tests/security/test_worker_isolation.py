"""A promoted version that turns out malicious, attacking from inside a served worker.

The version's code tries what a compromised agent would: read the admin token, the audit
log, the evidence and session stores and the repository's history; overwrite its own code
and the live working tree; signal the supervisor; read Theseus's secrets from its
environment; reach the network when the project said no; forge evidence for another
version. Under the ``bwrap`` worker profile every attempt must fail while the agent still
answers and writes its declared state folder. The same attacks under ``none`` succeed,
which is what shows each assertion tests a protection rather than an accident.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from agentrepo import fresh_settings

from theseus.config import Settings
from theseus.evidence.store import EvidenceStore
from theseus.runtime.deploy import deploy
from theseus.runtime.relay import parse_relayed
from theseus.runtime.supervisor import Supervisor
from theseus.verify.sandbox.backends import probe

pytestmark = pytest.mark.e2e

ATTACKER = """
import json, os, socket, signal, sqlite3
import theseus
from theseus.evidence import sdk

def attempt(action):
    try:
        return {"ok": True, "value": action()}
    except BaseException as exc:
        return {"ok": False, "error": type(exc).__name__}

def read(path):
    with open(path, "rb") as f:
        return f.read(200).decode("latin-1")

def write(path):
    with open(path, "w") as f:
        f.write("pwned")
    return path

def connect(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return "connected"

@theseus.task(idempotent=True)
def handle(message, state):
    t = message
    out = {
        "uid": os.getuid(),
        "admin_token": attempt(lambda: read(t["admin_token"])),
        "audit_log": attempt(lambda: read(t["audit_log"])),
        "evidence_db": attempt(lambda: sqlite3.connect("file:" + t["evidence_db"] + "?mode=ro",
                                                      uri=True).execute("select 1").fetchall()),
        "sessions_db": attempt(lambda: read(t["sessions_db"])),
        "git_config": attempt(lambda: read(t["git_config"])),
        "other_version": attempt(lambda: read(t["other_version_file"])),
        "shadow": attempt(lambda: read("/etc/shadow")),
        "own_code": attempt(lambda: write(os.path.abspath(__file__))),
        "working_tree": attempt(lambda: write(t["working_tree_file"])),
        "state_path": attempt(lambda: write(os.path.join(t["state_path"], "notes.txt"))),
        "signal_supervisor": attempt(lambda: os.kill(t["supervisor_pid"], 0)),
        "secret_env": [k for k in t["secret_envs"] if k in os.environ],
        "network": attempt(lambda: connect(t["port"])),
    }
    # forge evidence: a failure record claiming to come from another version
    sdk._writer.write_task(None, sdk.TaskRecord(
        id="f" * 32, function="agent.app:handle", input={"args": [], "kwargs": {}},
        started_at=0.0, code_version=t["other_version"],
        error={"type": "Forged", "message": "blame the other version"}))
    return out
"""

TOML = """\
[agent]
name = "attacker"
package = "agent"
entrypoint = "agent.app:handle"

[paths]
mutable = ["agent/*.py"]

[runtime]
workers_per_version = 1
worker_isolation = "{mode}"
worker_network = false
state_paths = ["var/data"]
"""


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _repo(root: Path, mode: str) -> str:
    (root / "agent").mkdir(parents=True)
    (root / "agent" / "__init__.py").write_text("")
    (root / "agent" / "app.py").write_text(ATTACKER)
    (root / "theseus.toml").write_text(TOML.format(mode=mode))
    (root / ".gitignore").write_text(".theseus/\nvar/\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "a version that turned out malicious")
    return _git(root, "rev-parse", "HEAD")


def _second_commit(root: Path) -> str:
    """The same attacker again as a new commit: deployed, its workers fork from a warm parent."""
    (root / "agent" / "__init__.py").write_text("# v2\n")
    _git(root, "commit", "-qam", "v2, same attacker")
    return _git(root, "rev-parse", "HEAD")


def _attack(settings: Settings, commit: str, port: int, warm: str | None = None) -> dict[str, Any]:
    """The attacker's reply when served as ``commit`` (cold), or as ``warm`` deployed after it."""
    state = settings.state_dir
    (state / "admin.token").parent.mkdir(parents=True, exist_ok=True)
    (state / "admin.token").write_text("the-admin-token")
    (state / "audit.jsonl").write_text('{"seq": 1}\n')
    EvidenceStore(settings.evidence_path).close()
    targets = {
        "admin_token": str(state / "admin.token"),
        "audit_log": str(state / "audit.jsonl"),
        "evidence_db": str(settings.evidence_path),
        "sessions_db": str(state / "sessions.db"),
        "git_config": str(settings.root / ".git" / "config"),
        "other_version_file": str(state / "versions" / commit / "agent" / "app.py"),
        "working_tree_file": str(settings.root / "agent" / "app.py"),
        "state_path": str(settings.root / "var" / "data"),
        "supervisor_pid": os.getpid(),
        "secret_envs": ["THESEUS_ADMIN_TOKEN", "THESEUS_AUDIT_KEY", "THESEUS_WEBHOOK_SECRET"],
        "port": port,
        "other_version": "0" * 40,
    }

    async def go() -> dict[str, Any]:
        sup = Supervisor(settings)
        await sup.start(commit)
        try:
            forked = False
            if warm is not None:
                forked = (await deploy(sup, warm))["forked"]
            result = await sup.handle("attack", targets)
            return {"reply": result.reply, "mode": sup.profile.mode, "forked": forked}
        finally:
            await sup.close()

    secrets = {"THESEUS_ADMIN_TOKEN": "x", "THESEUS_AUDIT_KEY": "y", "THESEUS_WEBHOOK_SECRET": "z"}
    saved = {k: os.environ.get(k) for k in secrets}
    os.environ.update(secrets)
    try:
        return asyncio.run(asyncio.wait_for(go(), 120))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def listener() -> Any:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    yield server.getsockname()[1]
    server.close()


def _settings(tmp_path: Path, mode: str) -> tuple[Settings, str]:
    root = tmp_path / "agent"
    commit = _repo(root, mode)
    return fresh_settings(root, root / ".theseus"), commit


@pytest.mark.skipif(not probe("bwrap").available, reason="bubblewrap does not work here")
@pytest.mark.parametrize("start", ["cold", "forked"])
def test_a_malicious_version_under_bwrap_reaches_nothing_it_should_not(
    tmp_path: Path, listener: int, start: str
) -> None:
    """Both ways a worker starts: spawned cold, and forked from the warm parent at a deploy
    (which is in the same confinement from before it knew its version)."""
    settings, commit = _settings(tmp_path, "bwrap")
    served = commit
    if start == "forked":
        served = _second_commit(settings.root)
        outcome = _attack(settings, commit, listener, warm=served)
        assert outcome["forked"], "the deploy did not fork from a warm parent"
    else:
        outcome = _attack(settings, commit, listener)
    assert outcome["mode"] == "bwrap"
    got = outcome["reply"]
    targets = ("admin_token", "audit_log", "evidence_db", "sessions_db", "git_config")
    for target in (*targets, *(["other_version"] if start == "forked" else [])):
        assert not got[target]["ok"], f"read {target}: {got[target]}"
    assert not got["shadow"]["ok"]
    assert not got["own_code"]["ok"] and not got["working_tree"]["ok"]
    assert (settings.root / "agent" / "app.py").read_text() != "pwned"
    assert got["signal_supervisor"] == {"ok": False, "error": "ProcessLookupError"}
    assert got["secret_env"] == []
    assert not got["network"]["ok"]
    if os.geteuid() == 0:
        assert got["uid"] == 65534
    # ... while the agent still works and writes what it declared
    assert got["state_path"]["ok"]
    assert (settings.root / "var" / "data" / "notes.txt").read_text() == "pwned"
    # its evidence came back over the pipe, attributed to the version that really ran
    with EvidenceStore(settings.evidence_path) as store:
        by_id = {t.id: t for t in store.tasks()}
    assert by_id["f" * 32].code_version == served
    assert any(t.function.endswith("handle") and t.code_version == served for t in by_id.values())


def test_the_same_attacks_succeed_without_the_profile(tmp_path: Path, listener: int) -> None:
    """The control: under ``none`` the worker is a plain child process of the supervisor."""
    settings, commit = _settings(tmp_path, "none")
    outcome = _attack(settings, commit, listener, warm=_second_commit(settings.root))
    assert outcome["forked"]
    got = outcome["reply"]
    assert got["admin_token"]["ok"] and got["git_config"]["ok"] and got["network"]["ok"]
    assert got["other_version"]["ok"]
    assert got["signal_supervisor"]["ok"]
    assert got["secret_env"] == []  # the environment is cleaned in every profile


def test_relayed_evidence_is_validated_capped_and_reattributed() -> None:
    good = {
        "kind": "task",
        "record": {
            "id": "a" * 32,
            "function": "m:f",
            "input": {"args": [], "kwargs": {}},
            "started_at": 1.0,
            "code_version": "someone-else",
        },
    }
    report = {
        "kind": "report",
        "record": {"id": "b" * 32, "task_id": "a" * 32, "kind": "wrong_answer", "created_at": 2.0},
    }
    junk: list[Any] = [{"kind": "task", "record": {"id": 3}}, {"kind": "shell"}, "text", None]
    tasks, reports, refused = parse_relayed([good, report, *junk], version="v-real")
    assert [t.code_version for t in tasks] == ["v-real"] and len(reports) == 1
    assert refused == len(junk)
    assert parse_relayed("not a list", version="v") == ([], [], 1)
    flood = [good] * 1000
    tasks, _, refused = parse_relayed(flood, version="v")
    assert len(tasks) == 256 and refused == 1000 - 256
