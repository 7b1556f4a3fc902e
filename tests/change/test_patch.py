"""Parsing and applying unified diffs, and producing them with make_diff."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theseus.change import apply_patch, changed_files, make_diff, parse_patch, patched_texts
from theseus.change.patch import changed_line_count
from theseus.errors import PatchError

GIT_DIFF = """\
Some explanation the model wrote first.

diff --git a/pkg/mod.py b/pkg/mod.py
index 1111111..2222222 100644
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -1,3 +1,3 @@ def f():
 a
-b
+B
 c
diff --git a/pkg/new.py b/pkg/new.py
new file mode 100644
--- /dev/null
+++ b/pkg/new.py
@@ -0,0 +1,2 @@
+x = 1
+y = 2
\\ No newline at end of file
diff --git a/pkg/old.py b/pkg/old.py
deleted file mode 100644
--- a/pkg/old.py
+++ /dev/null
@@ -1 +0,0 @@
-gone
"""

PLAIN_DIFF = """\
--- a/one.txt\t2024-01-01 00:00:00
+++ b/one.txt\t2024-01-02 00:00:00
@@ -1,2 +1,2 @@
-x
+X
 y
--- a/two.txt
+++ b/two.txt
@@ -1 +1,2 @@
 only
+more
"""


def test_parse_git_diff_with_new_deleted_and_no_newline() -> None:
    patches = parse_patch(GIT_DIFF)
    assert [(p.old_path, p.new_path) for p in patches] == [
        ("pkg/mod.py", "pkg/mod.py"),
        (None, "pkg/new.py"),
        ("pkg/old.py", None),
    ]
    assert patches[0].hunks[0].section == "def f():"
    assert patches[1].hunks[0].new_lines == ["x = 1\n", "y = 2"]
    assert patches[2].is_deleted and patches[1].is_new
    assert changed_files(GIT_DIFF) == ["pkg/mod.py", "pkg/new.py", "pkg/old.py"]
    assert changed_line_count(GIT_DIFF) == 5


def test_apply_git_diff(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/mod.py").write_text("a\nb\nc\n")
    (tmp_path / "pkg/old.py").write_text("gone\n")
    result = apply_patch(tmp_path, GIT_DIFF)
    assert result.files == ["pkg/mod.py", "pkg/new.py", "pkg/old.py"]
    assert (tmp_path / "pkg/mod.py").read_text() == "a\nB\nc\n"
    assert (tmp_path / "pkg/new.py").read_text() == "x = 1\ny = 2"
    assert not (tmp_path / "pkg/old.py").exists()
    assert result.offsets == []


def test_plain_diff_with_timestamps_and_several_files(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("x\ny\n")
    (tmp_path / "two.txt").write_text("only\n")
    apply_patch(tmp_path, PLAIN_DIFF)
    assert (tmp_path / "one.txt").read_text() == "X\ny\n"
    assert (tmp_path / "two.txt").read_text() == "only\nmore\n"


def test_unprefixed_plain_paths_are_kept() -> None:
    patch = parse_patch("--- mod.py\n+++ mod.py\n@@ -1 +1 @@\n-a\n+b\n")[0]
    assert patch.path == "mod.py"


def test_offset_is_applied_and_reported(tmp_path: Path) -> None:
    lines = [f"line {i}\n" for i in range(1, 21)]
    (tmp_path / "f.txt").write_text("".join(["new top\n", "another\n", *lines]))
    diff = make_diff_for(lines, 10, "changed\n")
    result = apply_patch(tmp_path, diff)
    assert [str(o) for o in result.offsets] == ["f.txt: hunk 1 applied with offset +2 lines"]
    assert "changed\n" in (tmp_path / "f.txt").read_text()


def make_diff_for(lines: list[str], index: int, new: str) -> str:
    before = "".join(lines[index - 3 : index])
    after = "".join(lines[index + 1 : index + 4])
    body = "".join(" " + line for line in lines[index - 3 : index])
    body += "-" + lines[index] + "+" + new
    body += "".join(" " + line for line in lines[index + 1 : index + 4])
    assert before and after
    return f"--- a/f.txt\n+++ b/f.txt\n@@ -{index - 2},7 +{index - 2},7 @@\n{body}"


def test_offset_beyond_limit_fails(tmp_path: Path) -> None:
    lines = [f"line {i}\n" for i in range(1, 21)]
    (tmp_path / "f.txt").write_text("".join(["pad\n"] * 5 + lines))
    with pytest.raises(PatchError, match="hunk 1"):
        apply_patch(tmp_path, make_diff_for(lines, 10, "x\n"), max_offset=2)


def test_context_mismatch_names_file_hunk_and_line(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/mod.py").write_text("a\nDIFFERENT\nc\n")
    (tmp_path / "pkg/old.py").write_text("gone\n")
    with pytest.raises(PatchError) as info:
        apply_patch(tmp_path, GIT_DIFF)
    message = str(info.value)
    assert "pkg/mod.py: hunk 1 (@@ -1,3 +1,3 @@)" in message
    assert "line 2 is 'DIFFERENT\\n', the patch expects 'b\\n'" in message
    assert not (tmp_path / "pkg/new.py").exists()  # all or nothing


def test_missing_trailing_newline_must_match(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("a\nb")  # no newline at the end
    with pytest.raises(PatchError, match="does not apply"):
        apply_patch(tmp_path, "--- a/f.txt\n+++ b/f.txt\n@@ -2 +2 @@\n-b\n+c\n")
    apply_patch(
        tmp_path, "--- a/f.txt\n+++ b/f.txt\n@@ -2 +2 @@\n-b\n\\ No newline at end of file\n+c\n"
    )
    assert (tmp_path / "f.txt").read_text() == "a\nc\n"


@pytest.mark.parametrize(
    ("diff", "message"),
    [
        ("--- a/f\n+++ b/f\n@@ -1,x +1 @@\n-a\n+b\n", "malformed hunk header"),
        ("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n+b\n", "promises 2 old/2 new lines but has 1/1"),
        ("@@ -1 +1 @@\n-a\n+b\n", "comes before any"),
        ("just prose, no diff\n", "no file changes found"),
        ("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n+c\n", "lies outside any hunk"),
        ("diff --git a/f b/f\nBinary files a/f and b/f differ\n", "binary patches"),
        ("--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "absolute path"),
        ("--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n", "escapes the project root"),
        ("--- a/.git/config\n+++ b/.git/config\n@@ -1 +1 @@\n-a\n+b\n", "inside .git"),
        ("--- /dev/null\n+++ /dev/null\n@@ -0,0 +1 @@\n+b\n", "both sides"),
    ],
)
def test_malformed_patches_are_rejected(diff: str, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        parse_patch(diff)


def test_symlink_out_of_root_is_rejected(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text("a\n")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(PatchError, match="outside the project root"):
        apply_patch(root, "--- a/link/f.txt\n+++ b/link/f.txt\n@@ -1 +1 @@\n-a\n+b\n")
    assert (outside / "f.txt").read_text() == "a\n"


@pytest.mark.parametrize(
    ("files", "diff", "message"),
    [
        ({"f.txt": "a\n"}, "--- /dev/null\n+++ b/f.txt\n@@ -0,0 +1 @@\n+b\n", "already exists"),
        ({}, "--- a/f.txt\n+++ b/f.txt\n@@ -1 +1 @@\n-a\n+b\n", "does not exist"),
        (
            {"f.txt": "a\nb\n"},
            "--- a/f.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n",
            "does not remove all",
        ),
        ({"f.bin": "x"}, "--- a/f.bin\n+++ b/f.bin\n@@ -1 +1 @@\n-a\n+b\n", "not UTF-8"),
    ],
)
def test_apply_errors(tmp_path: Path, files: dict[str, str], diff: str, message: str) -> None:
    for name, text in files.items():
        if name.endswith(".bin"):
            (tmp_path / name).write_bytes(b"\xff\xfe\x00")
        else:
            (tmp_path / name).write_text(text)
    with pytest.raises(PatchError, match=message):
        apply_patch(tmp_path, diff)


def test_git_rename_and_empty_new_file(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    diff = (
        "diff --git a/a.py b/b.py\nsimilarity index 90%\nrename from a.py\nrename to b.py\n"
        "--- a/a.py\n+++ b/b.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
        "diff --git a/empty.txt b/empty.txt\nnew file mode 100644\nindex 0000000..e69de29\n"
    )
    result = apply_patch(tmp_path, diff)
    assert result.files == ["a.py", "b.py", "empty.txt"]
    assert not (tmp_path / "a.py").exists()
    assert (tmp_path / "b.py").read_text() == "x = 2\n"
    assert (tmp_path / "empty.txt").read_text() == ""


def test_make_diff_is_accepted_by_git_apply(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("a\nb\nc\n")
    (tmp_path / "y.txt").write_text("keep\nlast")
    (tmp_path / "e.txt").write_text("")
    diff = make_diff(
        tmp_path,
        {"x.txt": "a\nB\nc\nd", "y.txt": None, "e.txt": None, "dir/n.txt": "hi\n", "z.txt": ""},
    )
    (tmp_path / "p.diff").write_text(diff)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "apply", "--check", "p.diff"], cwd=tmp_path, check=True)
    assert changed_files(diff) == ["dir/n.txt", "e.txt", "x.txt", "y.txt", "z.txt"]


def test_make_diff_skips_unchanged_files(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("same\n")
    assert make_diff(tmp_path, {"x.txt": "same\n"}) == ""


def test_make_diff_keeps_executable_mode(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("echo a\n")
    script.chmod(0o755)
    diff = make_diff(tmp_path, {"run.sh": None})
    assert "deleted file mode 100755" in diff


# Texts made of a few distinct lines, so hunks meet repeated context; no surrogates
# (files are UTF-8) and "\r" inside lines to check only "\n" splits.
_line = st.sampled_from(["a", "b", "c", "", "  x = 1", "z\r", "é", "\\ not a marker"])
_text = st.lists(_line, max_size=25).map("\n".join) | st.lists(_line, max_size=25).map(
    lambda lines: "".join(line + "\n" for line in lines)
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(old=st.one_of(st.none(), _text), new=st.one_of(st.none(), _text))
def test_make_diff_then_apply_reproduces_new_text(
    tmp_path_factory: pytest.TempPathFactory, old: str | None, new: str | None
) -> None:
    root = tmp_path_factory.mktemp("rt")
    if old is not None:
        (root / "f.txt").write_bytes(old.encode())
    diff = make_diff(root, {"f.txt": new})
    if old == new:
        assert diff == ""
        return
    assert changed_files(diff) == ["f.txt"]
    assert patched_texts(root, diff).texts == {"f.txt": new}
    apply_patch(root, diff)
    if new is None:
        assert not (root / "f.txt").exists()
    else:
        assert (root / "f.txt").read_bytes() == new.encode()


_diff_line = st.sampled_from(
    [
        "--- a/f",
        "+++ b/f",
        "--- /dev/null",
        "@@ -1 +1 @@",
        "@@ -1,2 +1 @@",
        "@@ -0,0 +1 @@",
        "-a",
        "+b",
        " c",
        "",
        "\\ No newline at end of file",
        "diff --git a/f b/f",
        "new file mode 100644",
        "junk",
    ]
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_diff_line, max_size=12))
def test_parse_gives_patches_or_patch_error_never_a_crash(lines: list[str]) -> None:
    try:
        patches = parse_patch("\n".join(lines))
    except PatchError as exc:
        assert "\n" not in str(exc)  # one line for the user
    else:
        assert all(p.path for p in patches)


def test_real_git_diff_applies_like_git(tmp_path: Path) -> None:
    """A diff written by git itself (rename, mode change, quoted path, no final newline)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    files = {
        "a.py": "".join(f"line {i}\n" for i in range(40)),
        "b.txt": "keep\nlast",
        "old name.txt": "moved\ncontent\nhere\nand\nmore\n",
        "gone.txt": "bye\n",
    }
    for name, text in files.items():
        (repo / name).write_text(text)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.email=t@e", "-c", "user.name=t", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "base")
    base = tmp_path / "base"
    shutil.copytree(repo, base, ignore=shutil.ignore_patterns(".git"))
    (repo / "a.py").write_text(
        files["a.py"].replace("line 3\n", "LINE 3\n").replace("line 30\n", "")
    )
    (repo / "b.txt").write_text("keep\nlast\nmore")
    git("mv", "old name.txt", "new name.txt")
    (repo / "new name.txt").write_text("moved\ncontent\nhere\nand\nmore!\n")
    (repo / "gone.txt").unlink()
    (repo / "fresh.txt").write_text("")
    (repo / "b.txt").chmod(0o755)
    git("add", "-A")
    diff = git("diff", "--cached", "-M", "HEAD")
    apply_patch(base, diff)
    for name in ("a.py", "b.txt", "new name.txt", "fresh.txt"):
        assert (base / name).read_text() == (repo / name).read_text(), name
    assert not (base / "gone.txt").exists() and not (base / "old name.txt").exists()
    assert (base / "b.txt").stat().st_mode & 0o111
