"""The command proposer with real small Python scripts as the "CLI": one that edits a file
(prompt by file, by argument and on stdin), one that times out (its whole process group is
killed), one that exits non-zero, one that changes nothing, one that also touches tests, and
the construction errors (empty argv, missing executable)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from calc_batch import Watch, wrong_sum_batch

from theseus.config import Settings, load_settings
from theseus.errors import TheseusError
from theseus.paths import rules_from
from theseus.propose.base import Attempt, ProposalContext, SearchBudget
from theseus.propose.command import INSTRUCTION, CommandProposer, substitute
from theseus.propose.repair.proposer import diff_key

BUGGY = "def add(a, b):\n    return a - b\n"
TOML = """\
[agent]
package = "calc"
entrypoint = "calc.ops:add"

[paths]
mutable = ["calc/**/*.py"]
protected = ["tests/**/*.py"]
"""

FIXER = """\
import pathlib, sys
prompt = {source}
assert "Edit the files in this folder in place" in prompt, prompt[:200]
pathlib.Path("received.txt").write_text(prompt)
ops = pathlib.Path("calc/ops.py")
ops.write_text(ops.read_text().replace("a - b", "a + b"))
print("fixed: add used '-' instead of '+'")
"""
SOURCES = {
    "file": "pathlib.Path(sys.argv[1]).read_text()",
    "arg": "sys.argv[1]",
    "stdin": "sys.stdin.read()",
}


def make_project(root: Path) -> Settings:
    (root / "calc").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "calc" / "ops.py").write_text(BUGGY, encoding="utf-8")
    (root / "tests" / "test_ops.py").write_text("def test():\n    pass\n", encoding="utf-8")
    (root / "theseus.toml").write_text(TOML, encoding="utf-8")
    return load_settings(root / "theseus.toml")


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Settings]:
    root = tmp_path / "proj"
    return root, make_project(root)


def script(tmp_path: Path, name: str, source: str) -> str:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return str(path)


def with_command(settings: Settings, argv: list[str], timeout: float = 30.0) -> Settings:
    command = settings.propose.command.model_copy(update={"argv": argv, "timeout": timeout})
    propose = settings.propose.model_copy(update={"command": command})
    return settings.model_copy(update={"propose": propose})


def run(project: tuple[Path, Settings], argv: list[str], watch: Watch, **kw: Any) -> list[Any]:
    root, base = project
    settings = with_command(base, argv, kw.pop("timeout", 30.0))
    ctx = ProposalContext(
        root=root, base_commit="base0", rules=rules_from(root, ["calc/**/*.py"], ["tests/**/*.py"]),
        budget=SearchBudget.from_seconds(60, 5), batch=wrong_sum_batch(), attempts=kw.pop("attempts", ()),
        on_rejected=watch.rejected.append, notes=watch.notes.append,
    )  # fmt: skip
    return list(CommandProposer(settings).propose(ctx))


@pytest.mark.parametrize("how", ["file", "arg", "stdin"])
def test_a_cli_that_edits_a_file_gives_one_candidate(
    project: tuple[Path, Settings], tmp_path: Path, how: str
) -> None:
    fixer = script(tmp_path, "fixer.py", FIXER.format(source=SOURCES[how]))
    extra = {"file": ["{prompt_file}"], "arg": ["{prompt}"], "stdin": []}[how]
    watch = Watch()
    [candidate] = run(project, [sys.executable, fixer, *extra], watch)
    assert watch.notes == ["command: undid changes to non-editable received.txt"]
    assert watch.rejected == []
    assert candidate.proposer == "command" and candidate.signature == "wrong-sum"
    assert "-    return a - b\n+    return a + b" in candidate.diff
    assert "received.txt" not in candidate.diff  # a file outside the mutable paths: undone
    assert candidate.rationale == "fixed: add used '-' instead of '+'"
    assert candidate.meta["attempt_key"] == diff_key(candidate.diff)
    root = project[0]
    assert (root / "calc" / "ops.py").read_text(encoding="utf-8") == BUGGY  # ran on a copy
    assert not (root / "received.txt").exists()


def test_the_prompt_is_the_task_brief_plus_the_instruction(
    project: tuple[Path, Settings], tmp_path: Path
) -> None:
    keep = tmp_path / "seen.txt"
    saver = script(tmp_path, "saver.py", f"import sys, pathlib\n"
                   f"pathlib.Path({str(keep)!r}).write_text(sys.stdin.read())\n")  # fmt: skip
    watch = Watch()
    assert run(project, [sys.executable, saver], watch) == []
    prompt = keep.read_text(encoding="utf-8")
    assert "add(2, 3) returns -1" in prompt and "calc/ops.py" in prompt
    assert prompt.rstrip().endswith(INSTRUCTION.rstrip())
    program = Path(sys.executable).name  # as given, not the file its symlink points to
    assert [r.reason for r in watch.rejected] == [f"`{program}` changed no editable file"]
    assert watch.notes[0].startswith("command: ") and "changed no editable file" in watch.notes[0]


def test_a_cli_that_times_out_is_killed_with_its_children(
    project: tuple[Path, Settings], tmp_path: Path
) -> None:
    pids = tmp_path / "pids.txt"
    sleeper = script(tmp_path, "sleeper.py", f"""\
import os, pathlib, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
pathlib.Path({str(pids)!r}).write_text(f"{{os.getpid()}} {{child.pid}}")
print("thinking...", flush=True)
time.sleep(60)
""")  # fmt: skip
    watch = Watch()
    started = time.monotonic()
    assert run(project, [sys.executable, sleeper], watch, timeout=1.0) == []
    assert time.monotonic() - started < 10
    [rejected] = watch.rejected
    assert rejected.reason.endswith("timed out after 1s") and "thinking..." in rejected.excerpt
    for pid in map(int, pids.read_text(encoding="utf-8").split()):
        assert not alive(pid)


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped by init counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_cli_that_fails_gives_no_candidate(
    project: tuple[Path, Settings], tmp_path: Path
) -> None:
    failing = script(tmp_path, "fail.py", "import pathlib, sys\n"
                     "p = pathlib.Path('calc/ops.py'); p.write_text(p.read_text() + '# x\\n')\n"
                     "print('model quota exceeded', file=sys.stderr); sys.exit(3)\n")  # fmt: skip
    watch = Watch()
    assert run(project, [sys.executable, failing], watch) == []
    [rejected] = watch.rejected
    assert rejected.reason.endswith("exited with status 3")
    assert "model quota exceeded" in rejected.excerpt
    assert watch.notes == [f"command: {rejected.reason}: model quota exceeded"]


def test_changes_outside_the_mutable_files_are_dropped_with_a_note(
    project: tuple[Path, Settings], tmp_path: Path
) -> None:
    cheat = script(tmp_path, "cheat.py", "import pathlib\n"
                   "pathlib.Path('tests/test_ops.py').write_text('')\n")  # fmt: skip
    watch = Watch()
    assert run(project, [sys.executable, cheat], watch) == []
    assert watch.notes[0] == "command: undid changes to non-editable tests/test_ops.py"
    assert watch.rejected[0].reason.endswith("changed no editable file")


def test_an_earlier_attempt_is_not_proposed_again(
    project: tuple[Path, Settings], tmp_path: Path
) -> None:
    fixer = script(tmp_path, "fixer.py", FIXER.format(source=SOURCES["stdin"]))
    [first] = run(project, [sys.executable, fixer], Watch())
    watch = Watch()
    tried = (Attempt(key=diff_key(first.diff), outcome="failed"),)
    assert run(project, [sys.executable, fixer], watch, attempts=tried) == []
    assert watch.rejected[0].reason.endswith("repeated an earlier attempt")


def test_a_relative_program_path_is_found_from_the_project(project: tuple[Path, Settings]) -> None:
    root, settings = project
    tool = root / "bin" / "fix.sh"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\nsed -i 's/a - b/a + b/' calc/ops.py\n", encoding="utf-8")
    tool.chmod(0o755)
    proposer = CommandProposer(with_command(settings, ["bin/fix.sh"]))
    assert proposer.executable == str(tool)
    watch = Watch()
    assert len(run(project, ["bin/fix.sh"], watch)) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "[propose.command] argv is empty"),
        (["  "], "[propose.command] argv is empty"),
        (
            ["theseus-no-such-cli-xyz", "-p", "{prompt}"],
            "'theseus-no-such-cli-xyz' is not installed",
        ),
        (["./missing/cli"], "'./missing/cli' is not installed"),
        (["tests/test_ops.py"], "'tests/test_ops.py' is not installed or not executable"),
    ],
)
def test_bad_argv_is_one_line_at_construction(
    project: tuple[Path, Settings], argv: list[str], message: str
) -> None:
    with pytest.raises(TheseusError) as caught:
        CommandProposer(with_command(project[1], argv))
    line = caught.value.line()
    assert message in line and "\n" not in line and "argv" in line


def test_substitute_fills_placeholders_once_and_says_when_stdin_is_needed() -> None:
    argv, stdin = substitute(["cli", "-p", "{prompt}", "--file={prompt_file}"], "use {prompt_file}",
                             "/tmp/p.md")  # fmt: skip
    assert argv == ["cli", "-p", "use {prompt_file}", "--file=/tmp/p.md"] and not stdin
    assert substitute(["cli", "--yes"], "x", "/p") == (["cli", "--yes"], True)


def test_the_environment_reaches_the_cli(
    project: tuple[Path, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THESEUS_TEST_CLI_KEY", "k-123")
    checker = script(tmp_path, "env.py", "import os, pathlib, sys\n"
                     "assert os.environ['THESEUS_TEST_CLI_KEY'] == 'k-123'\n"
                     "assert os.environ['THESEUS_RECORD'] == '0'\n"
                     "p = pathlib.Path('calc/ops.py'); p.write_text(p.read_text().replace('-', '+'))\n")  # fmt: skip
    assert len(run(project, [sys.executable, checker], Watch())) == 1
    assert os.environ["THESEUS_TEST_CLI_KEY"] == "k-123"
