"""`theseus verify`: exit codes, JSON output, evidence batches and the archive."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from mini_agent import mini_agent

from theseus.cli.main import main
from theseus.evidence.records import FailureReport, TaskRecord
from theseus.evidence.store import EvidenceStore
from theseus.lineage.archive import Archive

mini = mini_agent()


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `theseus ARGS` in-process, as the console script does: (exit code, out, err)."""
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return int(code or 0), out, err


def record_wrong_answers(project: Any) -> None:
    """Real evidence: two calls of the agent that returned a wrong sum, reported as such."""
    now = time.time()
    with EvidenceStore(project.settings().evidence_path) as store:
        for n, (a, b) in enumerate([(2, 3), (10, 5)]):
            store.add_task(
                TaskRecord(
                    id=f"task-{n}",
                    function="mini.app:handle",
                    input={"args": [{"skill": "add", "a": a, "b": b}, {}], "kwargs": {}},
                    output={"result": a - b},
                    started_at=now + n,
                )
            )
            store.add_report(
                FailureReport(
                    id=f"report-{n}",
                    task_id=f"task-{n}",
                    kind="wrong_answer",
                    expected={"result": a + b},
                    has_expected=True,
                    severity="high",
                    created_at=now + n,
                )
            )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Any:
    project = mini.make_project(tmp_path_factory.mktemp("cli") / "mini")
    record_wrong_answers(project)
    return project


def write_patch(project: Any, edits: dict[str, tuple[str, str]], tmp_path: Path) -> Path:
    path = tmp_path / "change.diff"
    path.write_text(project.diff(edits))
    return path


@pytest.mark.e2e
def test_a_fixing_patch_verifies_with_exit_0_and_is_archived(
    project: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patch = write_patch(project, mini.FIX, tmp_path)
    code, out, _ = cli(
        ["verify", "--patch", str(patch), "--project", str(project.root), "--json"], capsys
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["status"] == "verified"
    assert data["score"]["replay_fixed"] == data["score"]["replay_total"] == 2
    assert set(data["replay_cases"]) == {"task-0", "task-1"}  # cases from the real evidence
    archive = Archive(project.settings().state_dir / "theseus.db")
    try:
        assert archive.status(data["candidate"]["id"]) == "verified"
        assert archive.scores(data["candidate"]["id"])["replay_fixed"] == 2  # type: ignore[index]
    finally:
        archive.close()
    # Verifying the stored candidate by ID (a prefix) shows the table to a person.
    code, out, _ = cli(
        ["verify", data["candidate"]["id"][:8], "--project", str(project.root)], capsys
    )
    assert code == 0
    assert "verification" in out and "2/2" in out and "verified" in out


@pytest.mark.e2e
def test_a_regressing_patch_exits_1_and_names_the_regression(
    project: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patch = write_patch(project, mini.BREAK_GREET, tmp_path)
    code, out, _ = cli(["verify", "--patch", str(patch), "-p", str(project.root), "--json"], capsys)
    assert code == 1
    data = json.loads(out)
    assert data["status"] == "failed"
    assert data["score"]["regressions"] == ["tests/test_skills.py::test_greet"]


@pytest.mark.e2e
def test_a_policy_rejection_exits_1_with_the_rule(
    project: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patch = write_patch(project, mini.SUBPROCESS, tmp_path)
    code, out, _ = cli(["verify", "--patch", str(patch), "-p", str(project.root)], capsys)
    assert code == 1
    assert "rejected_policy" in out and "subprocess" in out


def test_unknown_signature_is_not_found(
    project: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patch = write_patch(project, mini.FIX, tmp_path)
    args = ["verify", "--patch", str(patch), "--signature", "nope", "-p", str(project.root)]
    code, _, err = cli(args, capsys)
    assert code == 4
    assert "no failure batch with signature 'nope'" in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "exactly one of a candidate ID or --patch"),
        (["abc", "--patch", "{patch}"], 2, "exactly one of a candidate ID or --patch"),
        (["--patch", "{missing}"], 2, "does not exist"),
        (["--patch", "{empty}"], 2, "is empty"),
        (["--patch", "{binary}"], 2, "cannot read patch"),
        (["feedbeef"], 4, "no candidate 'feedbeef'"),
    ],
)
def test_bad_input_is_one_line_and_the_right_exit_code(
    project: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    message: str,
) -> None:
    files = {
        "patch": tmp_path / "p.diff",
        "missing": tmp_path / "missing.diff",
        "empty": tmp_path / "empty.diff",
        "binary": tmp_path / "binary.diff",
    }
    files["patch"].write_text("x")
    files["empty"].write_text("  \n")
    files["binary"].write_bytes(b"\xff\xfe\x00bad")
    argv = ["verify", *(a.format(**files) for a in args), "-p", str(project.root)]
    got, out, err = cli(argv, capsys)
    assert got == code
    assert message in err + out
    assert "Traceback" not in err


def test_a_project_without_git_has_no_base_for_a_patch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "plain"
    (root / "mini/skills").mkdir(parents=True)
    (root / "theseus.toml").write_text(mini.TOML)
    for path, text in mini.FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    patch = tmp_path / "x.diff"
    patch.write_text("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    code, out, _ = cli(["verify", "--patch", str(patch), "-p", str(root), "--json"], capsys)
    # Not git: the candidate's base is the working tree; the patch does not apply there.
    assert code == 1
    assert json.loads(out)["status"] == "invalid"


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(["verify", "--help"], capsys)
    assert code == 0
    assert "--patch" in out and "0 verified" in out
