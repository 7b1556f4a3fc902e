"""Search/replace blocks: parsing, exact and re-indented matches, and every error."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theseus.change import apply_edits, apply_patch, edits_to_diff, parse_edits
from theseus.change.edits import EditBlock, apply_block
from theseus.errors import PatchError

SOURCE = """\
class Refunds:
    def refund(self, amount):
        if amount < 0:
            raise ValueError(amount)
        return amount * 100
"""

EDIT = """\
Here is the fix:

```python
pkg/refunds.py
<<<<<<< SEARCH
        return amount * 100
=======
        return round(amount * 100)
>>>>>>> REPLACE
```
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/refunds.py").write_text(SOURCE)
    return tmp_path


def test_parse_ignores_prose_and_fences() -> None:
    [block] = parse_edits(EDIT)
    assert block.path == "pkg/refunds.py"
    assert block.search == "        return amount * 100\n"
    assert block.replace == "        return round(amount * 100)\n"
    assert block.line == 5


def test_exact_edit_becomes_a_diff_that_applies(root: Path) -> None:
    diff = edits_to_diff(root, EDIT)
    assert "+        return round(amount * 100)" in diff
    assert (root / "pkg/refunds.py").read_text() == SOURCE  # nothing written yet
    apply_patch(root, diff)
    assert "return round(amount * 100)" in (root / "pkg/refunds.py").read_text()


def test_leading_indentation_difference_is_tolerated(root: Path) -> None:
    edit = (
        "pkg/refunds.py\n<<<<<<< SEARCH\nif amount < 0:\n    raise ValueError(amount)\n"
        "=======\nif amount <= 0:\n    raise ValueError(f'bad {amount}')\n>>>>>>> REPLACE\n"
    )
    text = apply_edits(root, edit)["pkg/refunds.py"]
    assert "        if amount <= 0:\n            raise ValueError(f'bad {amount}')\n" in text


def test_over_indented_search_is_dedented(root: Path) -> None:
    edit = (
        "pkg/refunds.py\n<<<<<<< SEARCH\n            return amount * 100\n=======\n"
        "            return amount * 101\n>>>>>>> REPLACE\n"
    )
    text = apply_edits(root, edit)["pkg/refunds.py"]
    assert "\n        return amount * 101\n" in text


def test_several_blocks_apply_in_order_and_create_files(root: Path) -> None:
    edit = EDIT + (
        "pkg/refunds.py\n<<<<<<< SEARCH\n        return round(amount * 100)\n=======\n"
        "        return round(amount * 1000)\n>>>>>>> REPLACE\n"
        "pkg/new.py\n<<<<<<< SEARCH\n=======\nX = 1\n>>>>>>> REPLACE\n"
    )
    texts = apply_edits(root, edit)
    assert "round(amount * 1000)" in texts["pkg/refunds.py"]
    assert texts["pkg/new.py"] == "X = 1\n"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("no blocks here", "no SEARCH/REPLACE blocks"),
        ("pkg/refunds.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n", "no '======='"),
        ("pkg/refunds.py\n<<<<<<< SEARCH\nx\n=======\ny\n", "no '>>>>>>> REPLACE'"),
        ("=======\n", "without a '<<<<<<< SEARCH'"),
        ("<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", "no file path line"),
        ("../x.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", "escapes the project root"),
        ("pkg/refunds.py\n<<<<<<< SEARCH\nnot there\n=======\ny\n>>>>>>> REPLACE\n", "not found"),
        ("pkg/missing.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", "does not exist"),
        ("pkg/refunds.py\n<<<<<<< SEARCH\n=======\ny\n>>>>>>> REPLACE\n", "empty SEARCH"),
    ],
)
def test_edit_errors(root: Path, edit: str, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        apply_edits(root, edit)


def test_ambiguous_exact_match_names_the_lines() -> None:
    with pytest.raises(PatchError, match=r"matches 2 places \(lines 1, 3\)"):
        apply_block("x = 1\ny\nx = 1\n", EditBlock(path="m.py", search="x = 1\n", replace="x\n"))


def test_ambiguous_after_reindent_is_an_error() -> None:
    text = "def a():\n    x = 1\n    y = 2\ndef b():\n        x = 1\n        y = 2\n"
    with pytest.raises(PatchError, match="2 places after re-indenting"):
        apply_block(text, EditBlock(path="m.py", search="x = 1\ny = 2\n", replace="x = 2\n"))


def test_reindent_keeps_missing_final_newline() -> None:
    text = "def a():\n    return 1"
    out = apply_block(text, EditBlock(path="m.py", search="return 1\n", replace="return 2\n"))
    assert out == "def a():\n    return 2"


_line = st.sampled_from(["a", "b", "  c", "", "x = 1", "\tt"])


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(_line, max_size=8),
    middle=st.lists(_line, min_size=1, max_size=4),
    after=st.lists(_line, max_size=8),
    replacement=st.lists(_line, max_size=4),
)
def test_search_replace_round_trip(
    before: list[str], middle: list[str], after: list[str], replacement: list[str]
) -> None:
    marker = "UNIQUE-MARKER"  # makes the SEARCH text occur exactly once
    search = "".join(line + "\n" for line in [marker, *middle])
    text = "".join(line + "\n" for line in before) + search + "".join(line + "\n" for line in after)
    replace = "".join(line + "\n" for line in [marker, *replacement])
    out = apply_block(text, EditBlock(path="f.txt", search=search, replace=replace))
    assert out == "".join(line + "\n" for line in [*before, marker, *replacement, *after])
    edit_text = f"f.txt\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"
    [block] = parse_edits(edit_text)
    assert (block.search, block.replace) == (search, replace)
