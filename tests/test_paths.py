"""paths.py: glob rules shared by config, curator, policy and proposers."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

from theseus.paths import glob_match, relative_posix, rules_from


def test_glob_examples() -> None:
    assert glob_match("pkg/**/*.py", "pkg/a.py")
    assert glob_match("pkg/**/*.py", "pkg/x/y/a.py")
    assert not glob_match("pkg/*.py", "pkg/x/a.py")
    assert glob_match("**/*.py", "a.py") and glob_match("**", "a/b/c")
    assert glob_match("pkg/?.py", "pkg/a.py") and not glob_match("pkg/?.py", "pkg/ab.py")
    assert glob_match("./pkg/*.py", "pkg/a.py")
    assert glob_match("./.config/*.py", ".config/a.py") and not glob_match(
        "./.config/*.py", "config/a.py"
    )
    assert not glob_match("pkg/*.py", "pkg/a.pyc") and not glob_match("pkg/a+b.py", "pkg/aab.py")


def test_rules(tmp_path: Path) -> None:
    for rel in ("pkg/a.py", "pkg/core/guard.py", "pkg/core/b.py", "tests/t.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    rules = rules_from(tmp_path, ["pkg/**/*.py", "tests/*.py"], ["pkg/core/guard.py", "tests/**"])
    assert rules.is_mutable("pkg/a.py") and rules.is_mutable(tmp_path / "pkg" / "core" / "b.py")
    assert not rules.is_mutable("pkg/core/guard.py") and rules.is_protected("pkg/core/guard.py")
    assert not rules.is_mutable("tests/t.py")  # protected wins over mutable
    assert not rules.is_mutable("/elsewhere/pkg/a.py") and not rules.is_protected("/elsewhere/x")
    assert rules.mutable_files() == ["pkg/a.py", "pkg/core/b.py"]


def test_relative_posix(tmp_path: Path) -> None:
    assert relative_posix(tmp_path / "a" / "b.py", tmp_path) == "a/b.py"
    assert relative_posix("a/b.py", tmp_path) == "a/b.py"
    assert relative_posix("/somewhere/else.py", tmp_path) is None


segment = st.text(alphabet="abcxyz_.", min_size=1, max_size=6).filter(
    lambda s: s not in {".", ".."}
)


@given(st.lists(segment, min_size=1, max_size=5))
def test_double_star_matches_any_depth(parts: list[str]) -> None:
    rel = "/".join(parts)
    assert glob_match("**", rel)
    assert glob_match("**/" + parts[-1], rel)
    assert glob_match("/".join(parts), rel)  # a literal path matches itself (dots escaped)


@given(st.lists(segment, min_size=1, max_size=4), st.lists(segment, min_size=1, max_size=4))
def test_single_star_never_crosses_a_folder(a: list[str], b: list[str]) -> None:
    rel = "/".join([*a, *b])
    assert glob_match("*", rel) == ("/" not in rel)
    # the same answer as PurePosixPath.match for patterns without **
    assert glob_match("*/" + b[-1], rel) == (len(a) + len(b) == 2)
    assert bool(re.fullmatch(r"[^/]+", rel)) == glob_match("*", rel)
    assert PurePosixPath(rel).name == b[-1]
