"""Whole-definition replacement through libcst."""

from __future__ import annotations

from pathlib import Path

import pytest

from theseus.change import DefinitionEdit, apply_patch, definitions_to_diff
from theseus.change.definitions import replace_definition, split_target
from theseus.errors import PatchError

SOURCE = '''\
"""Module docstring."""
import os  # why os


# a comment above f
def f(x):
    return x  # keep?


class A:
    """doc"""

    # method comment
    def m(self, y):
        if y:
            return 1
        return 2

    def n(self):
        def inner():
            return 3

        return inner()
'''


def test_method_replaced_everything_else_kept() -> None:
    new = replace_definition(
        SOURCE, "A.m", "    def m(self, y):\n      # new\n      return y * 2\n"
    )
    assert "    def m(self, y):\n        # new\n        return y * 2\n" in new
    assert new.replace(
        "    def m(self, y):\n        # new\n        return y * 2\n", ""
    ) == SOURCE.replace(
        "    def m(self, y):\n        if y:\n            return 1\n        return 2\n", ""
    )


def test_nested_and_locals_targets() -> None:
    new = replace_definition(SOURCE, "A.n.<locals>.inner", "def inner():\n    return 4\n")
    assert "            return 4\n" in new and "return 3" not in new
    assert "# a comment above f" in new and "# why os" in new


def test_top_level_function_and_class(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    diff = definitions_to_diff(
        tmp_path,
        [
            DefinitionEdit("m.py::f", "@staticmethod\ndef f(x):\n    return x + 1\n"),
            DefinitionEdit("m.py::A", "class A:\n    pass\n"),
        ],
    )
    apply_patch(tmp_path, diff)
    text = (tmp_path / "m.py").read_text()
    assert "# a comment above f\n@staticmethod\ndef f(x):\n    return x + 1\n" in text
    assert "class A:\n    pass\n" in text and "def m" not in text


@pytest.mark.parametrize(
    ("target", "source", "message"),
    [
        ("A.missing", "def missing():\n    pass\n", "no function or class named 'A.missing'"),
        ("A.m", "def m(self:\n", "does not parse"),
        ("A.m", "def other(self):\n    pass\n", "defines 'other', not 'm'"),
        ("A.m", "x = 1\ndef m(self):\n    pass\n", "exactly one def or class"),
    ],
)
def test_definition_errors(target: str, source: str, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        replace_definition(SOURCE, target, source)


def test_duplicate_definition_is_ambiguous() -> None:
    with pytest.raises(PatchError, match="defined 2 times"):
        replace_definition(
            "def f():\n    pass\ndef f():\n    pass\n", "f", "def f():\n    return 1\n"
        )


@pytest.mark.parametrize("target", ["m.py", "m.py::", "::f", "m.py::1bad", "/abs.py::f"])
def test_bad_targets(target: str) -> None:
    with pytest.raises(PatchError):
        split_target(target)


def test_missing_file_and_unparsable_file(tmp_path: Path) -> None:
    with pytest.raises(PatchError, match="does not exist"):
        definitions_to_diff(tmp_path, [DefinitionEdit("nope.py::f", "def f():\n    pass\n")])
    (tmp_path / "bad.py").write_text("def f(:\n")
    with pytest.raises(PatchError, match="current file does not parse"):
        definitions_to_diff(tmp_path, [DefinitionEdit("bad.py::f", "def f():\n    pass\n")])
