"""`theseus sandbox run` and `theseus doctor` through the real CLI entry point."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from theseus.cli.main import main
from theseus.verify.sandbox import detect_backend


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(args)
    out, err = capsys.readouterr()
    code = stopped.value.code
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


def _project(root: Path, *, entry: str = "agent:handle", mutable: str = "agent.py") -> Path:
    root.mkdir()
    (root / "agent.py").write_text("def handle(message, state):\n    return message\n")
    (root / "theseus.toml").write_text(
        f'[agent]\npackage = "agent"\nentrypoint = "{entry}"\n\n[paths]\nmutable = ["{mutable}"]\n'
    )
    return root


def test_doctor_project_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path / "proj")
    with pytest.raises(SystemExit) as stopped:
        main(["doctor", "--project", str(project)])
        raise SystemExit(0)
    out = capsys.readouterr().out
    assert stopped.value.code == 0
    assert "agent:handle imports" in out and "ready" in out


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
