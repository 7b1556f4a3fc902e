"""`theseus evidence ...` and `theseus init` through the real CLI entry point."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

import theseus
from theseus.cli.main import main
from theseus.config import load_settings

from .conftest import load_module

AGENT = """\
import theseus

@theseus.task
def handle(message, state):
    if message["kind"] == "order":
        return {"total": [10, 20][message["n"]]}
    if message["kind"] == "rate":
        return 100 / message["n"]
    return "[bold]hello[/bold]"
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def recorded(project: Path) -> Path:
    mod = load_module(project, "agentpkg/core.py", AGENT)
    for n in range(2, 7):
        with pytest.raises(IndexError):
            mod.handle({"kind": "order", "n": n}, {})
    with pytest.raises(ZeroDivisionError):
        mod.handle({"kind": "rate", "n": 0}, {})
    mod.handle({"kind": "hi"}, {})
    ok = mod.handle({"kind": "rate", "n": 4}, {})
    assert ok == 25
    return project


def test_list_json_and_table(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "evidence", "list", "--project", str(recorded), "--json")
    assert code == 0
    batches = json.loads(out)
    assert [(b["count"], b["severity"], b["score"]) for b in batches] == [
        (5, "high", 15.0),
        (1, "high", 3.0),
    ]
    assert batches[0]["title"] == "IndexError in agentpkg/core.py:handle: list index out of range"
    code, out, _ = run(capsys, "evidence", "list", "-p", str(recorded))
    assert code == 0 and "IndexError" in out and batches[0]["signature"] in out and "rank" in out


def test_show_batch_by_prefix_and_task(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "evidence", "list", "-p", str(recorded), "--json")
    signature = json.loads(out)[0]["signature"]
    code, out, _ = run(capsys, "evidence", "show", signature[:6], "-p", str(recorded), "--json")
    assert code == 0 and json.loads(out)["signature"] == signature
    task_id = json.loads(out)["task_ids"][0]
    code, out, _ = run(capsys, "evidence", "show", signature[:6], "-p", str(recorded))
    assert code == 0 and "Replay cases" in out and '20][message["n"]]' in out  # not eaten as markup
    code, out, _ = run(capsys, "evidence", "show", task_id, "-p", str(recorded), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["task"]["id"] == task_id and shown["signature"] == signature
    code, out, _ = run(capsys, "evidence", "show", task_id[:10], "-p", str(recorded))
    assert code == 0 and "IndexError" in out


def test_show_unknown_and_ambiguous(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "evidence", "show", "zzzz", "-p", str(recorded))
    assert code == 4 and "no failure signature or task matches 'zzzz'" in err
    code, _, err = run(capsys, "evidence", "show", "", "-p", str(recorded))
    assert code == 2 and "is the start of" in err


def test_report_and_markup_safe_output(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from theseus.evidence.store import EvidenceStore

    with EvidenceStore(recorded / ".theseus" / "evidence.db") as store:
        hello = next(t for t in store.tasks() if t.output == "[bold]hello[/bold]")
    theseus.report_failure(hello.id, expected="[red]hi[/red]", severity="critical")
    code, out, _ = run(capsys, "evidence", "show", hello.id, "-p", str(recorded))
    assert code == 0 and "[bold]hello[/bold]" in out and "[red]hi[/red]" in out
    code, out, _ = run(
        capsys, "evidence", "list", "-p", str(recorded), "--json", "--min-severity", "critical"
    )
    assert [b["kind"] for b in json.loads(out)] == ["semantic"]


def test_export_import_between_projects(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "ev.jsonl"
    code, out, _ = run(capsys, "evidence", "export", str(file), "-p", str(recorded), "--json")
    assert code == 0 and json.loads(out)["tasks"] == 8
    other = tmp_path / "other"
    other.mkdir()
    (other / "theseus.toml").write_text((recorded / "theseus.toml").read_text())
    (other / "agentpkg").mkdir()
    (other / "agentpkg" / "core.py").write_text("")
    (other / "agentpkg" / "protected.py").write_text("")
    code, out, _ = run(capsys, "evidence", "import", str(file), "-p", str(other), "--json")
    assert code == 0 and json.loads(out)["tasks_added"] == 8
    code, out, _ = run(capsys, "evidence", "import", str(file), "-p", str(other))
    assert code == 0 and "imported 0 new tasks" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text(file.read_text().replace('"started_at":', '"started":', 1))
    code, _, err = run(capsys, "evidence", "import", str(bad), "-p", str(other))
    assert code == 2 and "bad.jsonl line 1: field 'task.started_at'" in err


def test_list_without_store_and_bad_since(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "evidence", "list", "-p", str(project), "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = run(capsys, "evidence", "list", "-p", str(project), "--since", "-1")
    assert code == 2 and "--since" in err


# -- theseus init ---------------------------------------------------------------------------


def _agent_project(root: Path, layout: str = ".") -> Path:
    pkg = root / layout / "shop_bot"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "service.py").write_text(
        "import theseus\n\n@theseus.task\ndef handle(message, state):\n    return 1\n"
    )
    (root / "tests").mkdir()
    (root / "tests" / "__init__.py").write_text("")
    return root


@pytest.mark.parametrize("layout", [".", "src"])
def test_init_writes_a_config_that_loads(
    tmp_path: Path, layout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _agent_project(tmp_path, layout)
    (root / "pyproject.toml").write_text('[project]\nname = "shop-bot"\n')
    code, out, _ = run(capsys, "init", "-p", str(root), "--json")
    result = json.loads(out)
    assert code == 0 and result["entrypoint"] == "shop_bot.service:handle"
    # the state folder is kept out of commits, and the missing repository is said
    assert result["gitignore"] == "added" and ".theseus/" in (root / ".gitignore").read_text()
    assert result["git"].startswith("not a git repository")
    settings = load_settings(root / "theseus.toml")
    assert settings.agent.package == "shop_bot" and settings.agent.python_path == [layout]
    code, _, err = run(capsys, "init", "-p", str(root))
    assert code == 2 and "already exists" in err and "--force" in err
    assert run(capsys, "init", "-p", str(root), "--force")[0] == 0
    assert (root / ".gitignore").read_text().count(".theseus") == 1  # not added twice


def test_init_every_commented_default_is_a_valid_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _agent_project(tmp_path)
    assert run(capsys, "init", "-p", str(root))[0] == 0
    text = (root / "theseus.toml").read_text()
    lines = []
    for line in text.splitlines():
        if line.startswith("# [") or (re.match(r"# [a-z_]+ = ", line) and "..." not in line):
            line = line[2:]
        lines.append(line)
    uncommented = "\n".join(lines)
    (root / "theseus.toml").write_text(uncommented)
    data = tomllib.loads(uncommented)
    assert "propose" in data and "repair" in data["propose"] and "runtime" in data
    load_settings(root / "theseus.toml")


def test_init_guess_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "init", "-p", str(tmp_path))
    assert code == 2 and "no package" in err and "--package" in err
    for name in ("alpha", "beta"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    code, _, err = run(capsys, "init", "-p", str(tmp_path))
    assert code == 2 and "several packages: alpha, beta" in err
    code, _, err = run(capsys, "init", "-p", str(tmp_path), "--package", "gamma")
    assert code == 2 and "no folder gamma/" in err
    code, out, _ = run(capsys, "init", "-p", str(tmp_path), "--package", "beta", "--json")
    assert code == 0 and json.loads(out)["entrypoint"] is None
    assert load_settings(tmp_path / "theseus.toml").agent.entrypoint == "beta:handle"


def test_evidence_report_names_a_recorded_task_and_bad_input_is_one_line(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No service runs for this project, so the report goes straight into its store."""
    import socket

    from theseus.evidence.store import EvidenceStore

    with socket.socket() as sock:  # a port where nothing listens: no live service is found
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = recorded / "theseus.toml"
    config.write_text(config.read_text() + f"\n[runtime]\nport = {port}\n")
    with EvidenceStore(recorded / ".theseus" / "evidence.db") as store:
        task = next(t for t in store.tasks() if t.output == 25.0)
    code, out, _ = run(
        capsys, "evidence", "report", task.id, "--expected", "20", "--note", "rate is 5",
        "-p", str(recorded), "--json",
    )  # fmt: skip
    assert code == 0, out
    receipt = json.loads(out)
    assert receipt["via"] == "store" and receipt["task_id"] == task.id
    with EvidenceStore(recorded / ".theseus" / "evidence.db") as store:
        [report] = store.reports(task.id)
    assert report.expected == 20 and report.has_expected and report.note == "rate is 5"

    code, _, err = run(capsys, "evidence", "report", "f" * 32, "-p", str(recorded))
    assert code == 4 and "no task" in err and "Traceback" not in err
    code, _, err = run(capsys, "evidence", "report", task.id, "--expected", "{oops", "-p",
                       str(recorded))  # fmt: skip
    assert code == 2 and "--expected is not JSON" in err and len(err.strip().splitlines()) <= 2
