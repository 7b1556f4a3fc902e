"""The agent's tools: confinement (absolute paths, '..', symlinks out, protected and
non-mutable files), edit semantics, listing and viewing, malformed arguments, sandboxed
commands (no network, nothing writable outside, timeouts, clipped output), and undoing
changes outside the mutable files."""

from __future__ import annotations

import socket
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from theseus.config import Settings, load_settings
from theseus.paths import rules_from
from theseus.propose.agent.tools import (
    MAX_RESULT_CHARS,
    TOOL_SPECS,
    AgentTools,
    clip,
    restore_outside_mutable,
)
from theseus.propose.llm.client import RAW_ARGUMENTS_KEY, ToolCall
from theseus.verify.sandbox import detect_backend

OPS = "def add(a, b):\n    return a - b\n\n\ndef twice(x):\n    return add(x, x)\n"
TOML = """\
[agent]
package = "calc"
entrypoint = "calc.ops:add"

[paths]
mutable = ["calc/**/*.py"]
protected = ["calc/secret.py", "tests/**/*.py"]

[tests]
command = "python -m pytest -q -p no:cacheprovider tests"

[propose.agent]
command_timeout = {timeout}
"""


def make_project(root: Path, *, timeout: float = 20) -> Settings:
    (root / "calc").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "calc" / "__init__.py").write_text("", encoding="utf-8")
    (root / "calc" / "ops.py").write_text(OPS, encoding="utf-8")
    (root / "calc" / "secret.py").write_text("KEY = 1\n", encoding="utf-8")
    (root / "tests" / "test_ops.py").write_text(
        "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
        encoding="utf-8",
    )
    (root / "theseus.toml").write_text(TOML.format(timeout=timeout), encoding="utf-8")
    return load_settings(root / "theseus.toml")


@pytest.fixture
def tools(tmp_path: Path) -> AgentTools:
    root = tmp_path / "ws"
    settings = make_project(root)
    return AgentTools(root, rules_from(root, settings.paths.mutable, settings.paths.protected),
                      settings)  # fmt: skip


def call(tools: AgentTools, name: str, **arguments: Any) -> Any:
    return tools.run(ToolCall(id="c1", name=name, arguments=arguments))


def test_specs_are_the_six_tools_with_object_schemas() -> None:
    names = [spec.name for spec in TOOL_SPECS]
    assert names == ["list_files", "view_file", "edit_file", "create_file", "run_command",
                     "finish"]  # fmt: skip
    for spec in TOOL_SPECS:
        assert spec.parameters["type"] == "object"
        assert set(spec.parameters["required"]) <= set(spec.parameters["properties"])


# -- confinement -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/etc/passwd", "~/.bashrc", "../outside.txt",
                                  "calc/../../outside.txt", ""])  # fmt: skip
def test_paths_outside_the_workspace_are_refused(tools: AgentTools, path: str) -> None:
    (tools.root.parent / "outside.txt").write_text("secret", encoding="utf-8")
    for name, extra in (("view_file", {}), ("create_file", {"content": "x"})):
        result = call(tools, name, path=path, **extra)
        assert not result.ok and result.text.startswith("error:")
        assert "secret" not in result.text
    assert (tools.root.parent / "outside.txt").read_text(encoding="utf-8") == "secret"
    assert not Path("/etc/passwd").read_text(encoding="utf-8").startswith("x")


def test_symlinks_leading_out_are_refused(tools: AgentTools, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "ops.py").write_text("TOP = 'secret'\n", encoding="utf-8")
    (tools.root / "calc" / "link").symlink_to(outside, target_is_directory=True)
    (tools.root / "calc" / "alias.py").symlink_to(outside / "ops.py")
    for path in ("calc/link/ops.py", "calc/alias.py"):
        viewed = call(tools, "view_file", path=path)
        assert not viewed.ok and "outside the project" in viewed.text
        assert "secret" not in viewed.text
        edited = call(tools, "edit_file", path=path, old="secret", new="pwned")
        assert not edited.ok and "outside the project" in edited.text
        written = call(tools, "create_file", path=path, content="pwned")
        assert not written.ok
    listed = call(tools, "list_files", path="calc/link")
    assert not listed.ok and "outside the project" in listed.text
    assert (outside / "ops.py").read_text(encoding="utf-8") == "TOP = 'secret'\n"


def test_a_symlink_loop_is_an_error_not_a_crash(tools: AgentTools) -> None:
    (tools.root / "calc" / "a.py").symlink_to(tools.root / "calc" / "b.py")
    (tools.root / "calc" / "b.py").symlink_to(tools.root / "calc" / "a.py")
    for name, extra in (("view_file", {}), ("create_file", {"content": "x"})):
        result = call(tools, name, path="calc/a.py", **extra)
        assert not result.ok and result.text.startswith("error:")


def test_protected_and_non_mutable_files_cannot_be_written(tools: AgentTools) -> None:
    protected = call(tools, "edit_file", path="calc/secret.py", old="KEY = 1", new="KEY = 2")
    assert not protected.ok and "protected" in protected.text
    test = call(tools, "create_file", path="tests/test_new.py", content="def test(): pass\n")
    assert not test.ok and "protected" in test.text
    other = call(tools, "create_file", path="setup.py", content="")
    assert not other.ok and "may not be changed" in other.text and "calc/**/*.py" in other.text
    git = call(tools, "view_file", path=".git/config")
    assert not git.ok and ".git" in git.text
    assert (tools.root / "calc" / "secret.py").read_text(encoding="utf-8") == "KEY = 1\n"
    assert not (tools.root / "tests" / "test_new.py").exists()
    assert not (tools.root / "setup.py").exists()


def test_a_symlink_inside_cannot_smuggle_a_write_to_a_protected_file(tools: AgentTools) -> None:
    (tools.root / "calc" / "door.py").symlink_to(tools.root / "calc" / "secret.py")
    result = call(tools, "create_file", path="calc/door.py", content="KEY = 2\n")
    assert not result.ok and "calc/secret.py is protected" in result.text
    assert (tools.root / "calc" / "secret.py").read_text(encoding="utf-8") == "KEY = 1\n"


# -- reading and editing ----------------------------------------------------------------------


def test_view_file_numbers_lines_and_honours_the_range(tools: AgentTools) -> None:
    whole = call(tools, "view_file", path="calc/ops.py")
    assert whole.ok and "    2      return a - b" in whole.text and "(lines 1-6 of 6)" in whole.text
    part = call(tools, "view_file", path="calc/ops.py", start_line="5", end_line=5)
    assert "def twice" in part.text and "return a - b" not in part.text
    assert not call(tools, "view_file", path="calc/ops.py", start_line=99).ok
    assert not call(tools, "view_file", path="calc/ops.py", start_line=4, end_line=2).ok
    assert "not a file" in call(tools, "view_file", path="calc").text
    assert "not a file" in call(tools, "view_file", path="calc/nope.py").text


def test_view_file_pages_long_files(tools: AgentTools) -> None:
    (tools.root / "calc" / "big.py").write_text("x = 1\n" * 1000, encoding="utf-8")
    first = call(tools, "view_file", path="calc/big.py")
    assert "(lines 1-400 of 1000)" in first.text and "use start_line=401" in first.text


def test_edit_file_replaces_exactly_one_occurrence(tools: AgentTools) -> None:
    ops = tools.root / "calc" / "ops.py"
    done = call(tools, "edit_file", path="calc/ops.py", old="return a - b", new="return a + b")
    assert done.ok and "lines 2-2" in done.text
    assert ops.read_text(encoding="utf-8") == OPS.replace("a - b", "a + b")
    missing = call(tools, "edit_file", path="calc/ops.py", old="return a * b", new="x")
    assert not missing.ok and "does not occur" in missing.text
    twice = call(tools, "edit_file", path="calc/ops.py", old="return", new="yield")
    assert not twice.ok and "occurs 2 times" in twice.text
    empty = call(tools, "edit_file", path="calc/ops.py", old="", new="x")
    assert not empty.ok and "empty" in empty.text
    absent = call(tools, "edit_file", path="calc/new.py", old="a", new="b")
    assert not absent.ok and "create_file" in absent.text
    assert ops.read_text(encoding="utf-8") == OPS.replace("a - b", "a + b")


def test_create_file_makes_folders_and_replaces_whole_files(tools: AgentTools) -> None:
    made = call(tools, "create_file", path="calc/sub/util.py", content="A = 1\nB = 2\n")
    assert made.ok and made.text == "created calc/sub/util.py (2 lines)"
    again = call(tools, "create_file", path="./calc/sub/util.py", content="A = 3\n")
    assert again.ok and again.text.startswith("replaced")
    assert (tools.root / "calc" / "sub" / "util.py").read_text(encoding="utf-8") == "A = 3\n"
    folder = call(tools, "create_file", path="calc/sub", content="")
    assert not folder.ok and "folder" in folder.text


def test_list_files_marks_editable_files_and_skips_caches(tools: AgentTools) -> None:
    (tools.root / "calc" / "__pycache__").mkdir()
    (tools.root / "calc" / "__pycache__" / "ops.cpython.pyc").write_bytes(b"\0")
    listed = call(tools, "list_files").text.splitlines()
    assert "calc/ops.py (editable)" in listed
    assert "calc/secret.py" in listed and "tests/test_ops.py" in listed
    assert not any("__pycache__" in line for line in listed)
    assert call(tools, "list_files", path="tests").text == "tests/test_ops.py"
    assert not call(tools, "list_files", path="calc/ops.py").ok


# -- malformed calls --------------------------------------------------------------------------


def test_malformed_arguments_come_back_as_errors(tools: AgentTools) -> None:
    raw = tools.run(ToolCall("c", "edit_file", {RAW_ARGUMENTS_KEY: '{"path": "calc/ops.py",'}))
    assert not raw.ok and "not a JSON object" in raw.text
    assert "missing argument `old`" in call(tools, "edit_file", path="calc/ops.py", new="x").text
    assert "must be a string" in call(tools, "view_file", path=3).text
    assert (
        "must be an integer" in call(tools, "view_file", path="calc/ops.py", start_line=True).text
    )
    assert "unknown argument(s) mode" in call(tools, "view_file", path="x", mode="r").text
    assert "no tool 'rm'" in call(tools, "rm", path="x").text
    assert (tools.root / "calc" / "ops.py").read_text(encoding="utf-8") == OPS


def test_finish_ends_the_run_with_the_summary(tools: AgentTools) -> None:
    done = call(tools, "finish", summary="  fixed add  ")
    assert done.finished and done.summary == "fixed add"
    assert call(tools, "finish").finished


# -- commands ---------------------------------------------------------------------------------


def test_run_command_runs_in_the_workspace(tools: AgentTools) -> None:
    result = call(tools, "run_command", command="pwd; echo oops >&2; exit 3")
    assert not result.ok
    assert result.text.startswith("exit status 3") and "oops" in result.text
    tests = call(tools, "run_command", command="python -m pytest -q -p no:cacheprovider tests")
    assert "1 failed" in tests.text and "assert -1 == 5" in tests.text
    assert call(tools, "run_command", command="  ").text == "error: `command` is empty"


def test_run_command_output_is_clipped(tools: AgentTools) -> None:
    result = call(tools, "run_command", command="python -c \"print('x' * 100000); print('END')\"")
    assert result.ok and len(result.text) < MAX_RESULT_CHARS + 200
    assert result.text.rstrip().endswith("END") and "characters cut" in result.text


def test_run_command_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    settings = make_project(root, timeout=1)
    tools = AgentTools(root, rules_from(root, settings.paths.mutable), settings)
    result = call(tools, "run_command", command="sleep 30")
    assert not result.ok and "timeout after 1s" in result.text


def test_run_command_cannot_write_outside_the_workspace(tools: AgentTools) -> None:
    target = tools.root.parent / "escaped.txt"
    call(tools, "run_command", command=f"echo hi > {target}")
    assert not target.exists()


def test_run_command_has_no_network(tools: AgentTools) -> None:
    if not detect_backend(tools.settings.verify.sandbox).isolates_network:
        pytest.skip("this machine's sandbox backend does not isolate the network")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted: list[object] = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    probe = textwrap.dedent(f"""\
        import socket
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=3)
            print("CONNECTED")
        except OSError as exc:
            print("BLOCKED", exc)
    """)
    (tools.root / "probe.py").write_text(probe, encoding="utf-8")
    try:
        inside = call(tools, "run_command", command="python probe.py")
        assert "BLOCKED" in inside.text and "CONNECTED" not in inside.text
        # The same probe outside the sandbox reaches the server: the port is really open.
        import subprocess

        outside = subprocess.run([sys.executable, str(tools.root / "probe.py")],
                                 capture_output=True, text=True, check=False)  # fmt: skip
        assert "CONNECTED" in outside.stdout
    finally:
        server.close()


# -- helpers ----------------------------------------------------------------------------------


def test_clip_keeps_both_ends() -> None:
    assert clip("short") == "short"
    cut = clip("a" * 50 + "b" * 50, 30)
    assert cut.startswith("a" * 10) and cut.endswith("b" * 20) and "70 characters cut" in cut


def test_restore_outside_mutable_undoes_only_non_editable_changes(tmp_path: Path) -> None:
    source, copy = tmp_path / "src", tmp_path / "copy"
    settings = make_project(source)
    make_project(copy)
    rules = rules_from(copy, settings.paths.mutable, settings.paths.protected)
    (copy / "calc" / "ops.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    (copy / "tests" / "test_ops.py").write_text("def test_add():\n    pass\n", encoding="utf-8")
    (copy / "calc" / "secret.py").unlink()
    (copy / "notes.txt").write_text("scratch", encoding="utf-8")
    (copy / "junk.bin").write_bytes(b"\xff\xfe")
    (copy / "calc" / "__pycache__").mkdir()
    (copy / "calc" / "__pycache__" / "ops.cpython-311.pyc").write_bytes(b"\0")
    undone = restore_outside_mutable(copy, source, rules)
    assert undone == ["calc/secret.py", "junk.bin", "notes.txt", "tests/test_ops.py"]
    for rel in ("calc/secret.py", "tests/test_ops.py"):
        assert (copy / rel).read_bytes() == (source / rel).read_bytes()
    assert not (copy / "notes.txt").exists() and not (copy / "junk.bin").exists()
    assert "a + b" in (copy / "calc" / "ops.py").read_text(encoding="utf-8")
    assert (copy / "calc" / "__pycache__" / "ops.cpython-311.pyc").exists()
    assert restore_outside_mutable(copy, source, rules) == []


def test_restore_does_not_write_through_a_symlink_made_in_the_copy(tmp_path: Path) -> None:
    source, copy, outside = tmp_path / "src", tmp_path / "copy", tmp_path / "outside"
    settings = make_project(source)
    make_project(copy)
    outside.mkdir()
    (copy / "tests" / "test_ops.py").unlink()
    (copy / "tests").rmdir()
    (copy / "tests").symlink_to(outside, target_is_directory=True)
    rules = rules_from(copy, settings.paths.mutable, settings.paths.protected)
    assert restore_outside_mutable(copy, source, rules) == ["tests/test_ops.py"]
    assert list(outside.iterdir()) == []
    assert not (copy / "tests").is_symlink()
    assert (copy / "tests" / "test_ops.py").read_bytes() == (
        source / "tests/test_ops.py"
    ).read_bytes()
