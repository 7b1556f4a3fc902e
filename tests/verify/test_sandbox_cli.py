"""`theseus sandbox run` and `theseus doctor` through the real CLI entry point."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from theseus.cli.main import main
from theseus.verify.sandbox import detect_backend


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code: object = 0
    except SystemExit as stopped:
        code = stopped.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder


def test_run_prints_output_and_verdict(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        ["sandbox", "run", "-w", str(ws), "--", "python", "-c", "print('hi')"], capsys
    )
    assert code == 0 and out == "hi\n"
    assert "exit 0" in err and "ok" in err


def test_run_exit_code_is_the_commands(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        ["sandbox", "run", "-w", str(ws), "--", "python", "-c", "raise SystemExit(7)"], capsys
    )
    assert code == 7 and "exit status 7" in err


@pytest.mark.e2e
def test_run_timeout_is_124(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "sandbox",
        "run",
        "-w",
        str(ws),
        "--timeout",
        "2",
        "--json",
        "--",
        "python",
        "-c",
        "while True: pass",
    ]
    code, out, _ = run_cli(argv, capsys)
    data = json.loads(out)
    assert code == 124 and data["timed_out"] and data["reason"] == "timeout after 2s"
    assert data["exit_code"] == 124 and data["ok"] is False


def test_run_memory_and_network_in_json(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "sandbox",
        "run",
        "-w",
        str(ws),
        "--memory",
        "512",
        "--json",
        "--",
        "python",
        "-c",
        "bytearray(4 << 30)",
    ]
    code, out, _ = run_cli(argv, capsys)
    assert code == 1 and json.loads(out)["reason"] == "memory limit (512 MB) exceeded"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        connect = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)"
        code, out, _ = run_cli(
            ["sandbox", "run", "-w", str(ws), "--json", "--", "python", "-c", connect], capsys
        )
    finally:
        server.close()
    data = json.loads(out)
    chosen = detect_backend()
    assert data["backend"] == chosen.name
    assert (code, data["ok"]) == ((1, False) if chosen.isolates_network else (0, True))


def test_run_rlimits_backend_warns(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        ["sandbox", "run", "-w", str(ws), "--backend", "rlimits", "--allow-weak", "--", "true"],
        capsys,
    )
    assert code == 0 and "SANDBOX WEAK" in err


def test_run_rlimits_backend_is_refused_unless_allowed(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        ["sandbox", "run", "-w", str(ws), "--backend", "rlimits", "--", "true"], capsys
    )
    assert code == 2 and "contains nothing" in err and "allow_weak_sandbox" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--", "true"], "Missing option"),
        (["-w", "/definitely/not/here", "--", "true"], "not an existing folder"),
        (["-w", "WS", "--backend", "docker", "--", "true"], "Invalid value"),
        (["-w", "WS", "--timeout", "-1", "--", "true"], "timeout must be a positive"),
        (["-w", "WS", "--memory", "abc", "--", "true"], "Invalid value"),
        (["-w", "WS", "--memory", "4", "--", "true"], "memory_mb must be at least"),
        (["-w", "WS"], "no command given"),
        (["-w", "WS", "--"], "no command given"),
    ],
)
def test_run_bad_arguments_one_line(
    ws: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    args = [str(ws) if a == "WS" else a for a in args]
    code, out, err = run_cli(["sandbox", "run", *args], capsys)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out


def test_doctor_json_outside_a_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["doctor", "--json"])
        raise SystemExit(0)
    data = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in data["checks"]}
    assert stopped.value.code == 0 and data["ok"] is True
    assert checks["python"]["status"] == "ok" and checks["git"]["status"] == "ok"
    assert checks["sandbox"]["detail"].startswith("using ")
    assert checks["sandbox run"]["status"] == "ok"
    assert "not inside a project" in checks["project"]["detail"]


READY_AGENT = "import theseus\n\n@theseus.task\ndef handle(message, state):\n    return message\n"
PASSING_TEST = "from agent import handle\n\ndef test_echo():\n    assert handle('x', {}) == 'x'\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _project(
    root: Path,
    *,
    entry: str = "agent:handle",
    mutable: str = "agent.py",
    agent: str = READY_AGENT,
    test: str = PASSING_TEST,
    git: str = "committed",
    port: int | None = None,
) -> Path:
    """A project `doctor` should call ready, unless one of the knobs breaks it."""
    root.mkdir()
    (root / "agent.py").write_text(agent)
    (root / "tests").mkdir()
    (root / "tests" / "test_agent.py").write_text(test)
    (root / "theseus.toml").write_text(
        f'[agent]\npackage = "agent"\nentrypoint = "{entry}"\n\n[paths]\nmutable = ["{mutable}"]\n'
        f'\n[tests]\ncommand = "{sys.executable} -m pytest -q -p no:cacheprovider tests"\n'
        f"\n[runtime]\nport = {port or _free_port()}\n"
    )
    (root / ".gitignore").write_text(".theseus/\n")
    if git != "none":
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    if git == "committed":
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
        subprocess.run(["git", "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm",
                        "agent"], cwd=root, check=True)  # fmt: skip
    return root


def test_doctor_project_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "agent", raising=False)
    project = _project(tmp_path / "proj")
    with pytest.raises(SystemExit) as stopped:
        main(["doctor", "--project", str(project)])
        raise SystemExit(0)
    out = capsys.readouterr().out
    assert stopped.value.code == 0, out
    assert "agent:handle imports" in out and "ready" in out and "not ready" not in out


@pytest.mark.parametrize(
    ("knobs", "check", "status", "says"),
    [
        ({"git": "none"}, "git", "fail", "not in a git repository"),
        ({"git": "init"}, "git", "fail", "no commit yet"),
        ({"agent": "def handle(message, state):\n    return message\n"}, "entrypoint records",
         "fail", "is not a @theseus.task"),
        ({"test": "def test_broken():\n    assert False\n"}, "base tests", "fail",
         "the suite fails on HEAD"),
    ],
)  # fmt: skip
def test_doctor_catches_each_setup_problem(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    knobs: dict[str, str],
    check: str,
    status: str,
    says: str,
) -> None:
    monkeypatch.delitem(sys.modules, "agent", raising=False)  # each project's own agent.py
    project = _project(tmp_path / "proj", **knobs)
    code, out, _ = run_cli(["doctor", "--project", str(project), "--json"], capsys)
    data = json.loads(out)
    found = {c["name"]: c for c in data["checks"]}
    assert code == 1 and data["ok"] is False
    assert found[check]["status"] == status and says in found[check]["detail"]


def test_doctor_warns_of_a_taken_port_and_serve_refuses_it_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        project = _project(tmp_path / "proj", port=port)
        code, out, _ = run_cli(
            ["doctor", "--project", str(project), "--json", "--skip-tests"], capsys
        )
        found = {c["name"]: c for c in json.loads(out)["checks"]}
        assert (
            found["service port"]["status"] == "warn"
            and "is taken" in found["service port"]["detail"]
        )
        assert "base tests" not in found  # --skip-tests
        code, out, err = run_cli(["serve", "--project", str(project)], capsys)
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err
    assert len(err.strip().splitlines()) <= 2 and "Traceback" not in err + out


@pytest.mark.parametrize(
    ("entry", "mutable", "failing"),
    [
        ("agent:nope", "agent.py", "has no attribute"),
        ("agent_missing:handle", "agent.py", "importing 'agent_missing' failed"),
        ("agent:handle", "src/*.py", "matches no file"),
    ],
)
def test_doctor_project_failures_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str, mutable: str, failing: str
) -> None:
    project = _project(tmp_path / f"p{abs(hash((entry, mutable)))}", entry=entry, mutable=mutable)
    code, out, _ = run_cli(["doctor", "--project", str(project), "--json"], capsys)
    data = json.loads(out)
    assert code == 1 and data["ok"] is False
    assert any(c["status"] == "fail" and failing in c["detail"] for c in data["checks"])


def test_doctor_broken_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "broken"
    project.mkdir()
    (project / "theseus.toml").write_text("[agent\n")
    code, out, _ = run_cli(["doctor", "--project", str(project), "--json"], capsys)
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert code == 1 and checks["config"]["status"] == "fail"
    assert "not valid TOML" in checks["config"]["detail"]
