"""Answer parsing: search/replace blocks and whole-definition replacements become a diff;
lazy and broken answers are rejected with a kind and a reason (property-based for the
parser itself)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from llm_example import BUGGY_GUARD, FIXED_GUARD, UNITS, example_project

from theseus.change.apply import patched_texts
from theseus.config import Settings, parse_settings
from theseus.paths import PathRules, rules_from
from theseus.propose.llm.answer import Answer, AnswerRejected, parse_answer
from theseus.propose.llm.redact import Redactor

FIX = f"""The guard lets an unknown target currency through.

{UNITS}
<<<<<<< SEARCH
{BUGGY_GUARD.rstrip()}
=======
{FIXED_GUARD.rstrip()}
>>>>>>> REPLACE

Rationale: reject the pair when either currency is unknown.
"""

Project = tuple[Path, Settings, PathRules]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root, config = example_project(tmp_path_factory.mktemp("answer"))
    return root, config, rules_from(root, config.paths.mutable, config.paths.protected)


def parse(project: Project, text: str, redactor: Redactor | None = None) -> Answer:
    root, config, rules = project
    return parse_answer(text, root, rules, config, redactor=redactor)


def rejected(project: Project, text: str) -> AnswerRejected:
    with pytest.raises(AnswerRejected) as caught:
        parse(project, text)
    assert "\n" not in caught.value.reason
    return caught.value


def new_text(project: Project, answer: Answer, path: str) -> str:
    return patched_texts(project[0], answer.diff).texts[path] or ""


def test_search_replace_block_becomes_a_diff_and_prose_the_rationale(project: Project) -> None:
    answer = parse(project, FIX)
    assert answer.files == (UNITS,)
    assert f"-{BUGGY_GUARD}" in answer.diff and f"+{FIXED_GUARD}" in answer.diff
    assert answer.rationale == (
        "The guard lets an unknown target currency through. "
        "reject the pair when either currency is unknown."
    )


def test_whole_definition_replacement_in_a_code_fence(project: Project) -> None:
    text = f"""Fixed.

```python
{UNITS}::convert
<<<<<<< DEFINITION
def convert(amount: Decimal, source: str, target: str) -> replies.Reply:
    source, target = source.upper(), target.upper()
    if source not in RATES or target not in RATES:
        return replies.unsupported_currency(source, target, sorted(RATES))
    value = amount / RATES[source] * RATES[target]
    return replies.converted(
        amount_text(amount, source), source, amount_text(value, target), target
    )
>>>>>>> END
```
"""
    answer = parse(project, text)
    updated = new_text(project, answer, UNITS)
    assert "source not in RATES or target not in RATES" in updated
    assert "def weight(order: Order)" in updated  # the rest of the file is untouched
    assert answer.rationale == "Fixed."


def test_both_kinds_in_one_answer_apply_in_order(project: Project) -> None:
    text = FIX + (
        f"\n{UNITS}::amount_text\n<<<<<<< DEFINITION\n"
        "def amount_text(value: Decimal, currency: str) -> str:\n"
        "    places = DECIMALS.get(currency.upper(), 2)\n"
        "    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))\n"
        ">>>>>>> END\n"
    )
    updated = new_text(project, parse(project, text), UNITS)
    assert FIXED_GUARD in updated and "DECIMALS.get(currency.upper(), 2)" in updated


def test_line_numbers_copied_from_the_listing_are_stripped(project: Project) -> None:
    root = project[0]
    number = 1 + (root / UNITS).read_text().splitlines().index(BUGGY_GUARD.rstrip())
    text = (
        f"{UNITS}\n<<<<<<< SEARCH\n {number} | {BUGGY_GUARD.rstrip()}\n=======\n"
        f" {number} | {FIXED_GUARD.rstrip()}\n>>>>>>> REPLACE\n"
    )
    assert FIXED_GUARD in new_text(project, parse(project, text), UNITS)


def test_placeholders_from_the_prompt_are_restored_before_matching(
    tmp_path: Path,
) -> None:
    root = tmp_path
    (root / "pkg").mkdir()
    (root / "pkg" / "mail.py").write_text('ADMIN = "ann@example.com"\nLIMIT = 3\n')
    config = parse_settings(
        {
            "agent": {"package": "pkg", "entrypoint": "pkg.mail:f"},
            "paths": {"mutable": ["pkg/*.py"]},
        },
        root=root,
    )
    redactor = Redactor()
    assert "[REDACTED:email#1]" in redactor.redact((root / "pkg" / "mail.py").read_text())
    text = (
        'pkg/mail.py\n<<<<<<< SEARCH\nADMIN = "[REDACTED:email#1]"\nLIMIT = 3\n=======\n'
        'ADMIN = "[REDACTED:email#1]"\nLIMIT = 5\n>>>>>>> REPLACE\n'
    )
    answer = parse_answer(text, root, rules_from(root, ["pkg/*.py"]), config, redactor=redactor)
    assert "+LIMIT = 5" in answer.diff and "ann@example.com" not in answer.diff.split("+LIMIT")[1]


@pytest.mark.parametrize(
    ("text", "kind", "needle"),
    [
        ("", "prose_only", "empty"),
        ("The bug is in convert: the guard uses `and`. Change it to `or`.", "prose_only", "prose"),
        (FIX.replace(FIXED_GUARD.rstrip(), BUGGY_GUARD.rstrip()), "no_change", "change nothing"),
        (FIX.replace(BUGGY_GUARD.rstrip(), "    if nothing:"), "search_not_found", "not found"),
        (FIX.replace(UNITS, "support_agent/app.py"), "outside_mutable", "support_agent/app.py"),
        (FIX.replace(UNITS, "tests/test_skills.py"), "outside_mutable", "may not change"),
        (FIX.replace(FIXED_GUARD.rstrip(), "    if source not in RATES or"), "unparsable", "parse"),
        (FIX.replace(">>>>>>> REPLACE", ""), "malformed", "REPLACE"),
        (
            f"{UNITS}::convert\n<<<<<<< DEFINITION\ndef convert_v2(amount, source, target):\n"
            "    return None if source else target\n>>>>>>> END\n",
            "malformed",
            "not 'convert'",
        ),
        (
            f"{UNITS}::convert\n<<<<<<< DEFINITION\ndef convert():\n    return 1\n",
            "malformed",
            "END",
        ),
        ("<<<<<<< DEFINITION\ndef f():\n    return 1\n>>>>>>> END\n", "malformed", "target"),
        (
            f"{UNITS}::nope\n<<<<<<< DEFINITION\ndef nope():\n    return 1\n>>>>>>> END\n",
            "search_not_found",
            "no function or class named 'nope'",
        ),
    ],
)
def test_useless_or_broken_answers_are_rejected_with_a_reason(
    project: Project, text: str, kind: str, needle: str
) -> None:
    found = rejected(project, text)
    assert found.kind == kind
    assert needle in found.reason
    assert found.excerpt == text.strip()[:300]


def _replace_guard(body: str) -> str:
    return FIX.replace(FIXED_GUARD.rstrip(), body)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (_replace_guard(FIXED_GUARD.rstrip() + "  # TODO: check rates"), "to-do"),
        (_replace_guard("    # ... rest of the code unchanged"), "placeholder comment"),
        (_replace_guard("    # existing code here"), "placeholder comment"),
        (_replace_guard("    ..."), "elided line"),
        (_replace_guard("    raise NotImplementedError"), "NotImplementedError"),
        (
            f"{UNITS}::convert\n<<<<<<< DEFINITION\n"
            "def convert(amount: Decimal, source: str, target: str) -> replies.Reply:\n"
            "    pass\n>>>>>>> END\n",
            "pass",
        ),
        (
            f"{UNITS}::convert\n<<<<<<< DEFINITION\n"
            "def convert(amount: Decimal, source: str, target: str) -> replies.Reply:\n"
            '    """Converted."""\n    return None\n>>>>>>> END\n',
            "trivial",
        ),
    ],
)
def test_lazy_answers_are_rejected_as_placeholders(
    project: Project, text: str, needle: str
) -> None:
    found = rejected(project, text)
    assert found.kind == "placeholder"
    assert needle in found.reason


def test_a_comment_that_merely_says_unchanged_in_prose_is_fine(project: Project) -> None:
    text = _replace_guard(FIXED_GUARD.rstrip() + "  # either one unknown: keep amounts unchanged")
    assert parse(project, text).files == (UNITS,)


# -- properties of the parser ---------------------------------------------------------------

_LINE = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N", "Zs")), min_size=1, max_size=30
).map(lambda s: s.strip() or "x")
_PROSE = st.text(alphabet=st.characters(codec="ascii", exclude_characters="<>=`\r"), max_size=200)


def _project(root: Path) -> tuple[Settings, PathRules]:
    config = parse_settings(
        {"agent": {"package": "pkg", "entrypoint": "pkg.mod:f"}, "paths": {"mutable": ["pkg/*"]}},
        root=root,
    )
    return config, rules_from(root, ["pkg/*"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(_LINE, min_size=1, max_size=12, unique=True),
    data=st.data(),
    before=_PROSE,
    after=_PROSE,
)
def test_a_block_replacing_one_unique_line_round_trips(
    tmp_path: Path, lines: list[str], data: st.DataObject, before: str, after: str
) -> None:
    root = tmp_path / "p"
    (root / "pkg").mkdir(parents=True, exist_ok=True)
    (root / "pkg" / "notes.txt").write_text("".join(f"{line}\n" for line in lines))
    config, rules = _project(root)
    index = data.draw(st.integers(0, len(lines) - 1))
    new_line = data.draw(_LINE.filter(lambda s: s not in lines))
    text = (
        f"{before}\npkg/notes.txt\n<<<<<<< SEARCH\n{lines[index]}\n=======\n{new_line}\n"
        f">>>>>>> REPLACE\n{after}"
    )
    if sum(line.count(lines[index]) for line in lines) != 1:
        return  # the SEARCH text is ambiguous; covered by the rejection tests
    answer = parse_answer(text, root, rules, config)
    expected = [*lines[:index], new_line, *lines[index + 1 :]]
    assert patched_texts(root, answer.diff).texts["pkg/notes.txt"] == "".join(
        f"{line}\n" for line in expected
    )
    assert answer.files == ("pkg/notes.txt",)


_PIECES = st.one_of(
    st.sampled_from(
        [
            "<<<<<<< SEARCH",
            "=======",
            ">>>>>>> REPLACE",
            "<<<<<<< DEFINITION",
            ">>>>>>> END",
            "```python",
            "```",
            "pkg/mod.py",
            "pkg/mod.py::f",
            "pkg/other.py",
            "../escape.py",
            "def f(x):",
            "    return x + 1",
            "    return x + 2",
            "    pass",
            "",
        ]
    ),
    st.text(max_size=40),
)


_BODY = st.lists(
    st.sampled_from(
        ["def f(x):", "    return x + 1", "    return x * 2", "    pass", "    # TODO", "  )", ""]
    ),
    min_size=0,
    max_size=3,
).map("\n".join)
_BLOCK = st.builds(
    lambda path, search, replace: (
        f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE"
    ),
    st.sampled_from(["pkg/mod.py", "pkg/new.py", "other/mod.py"]),
    _BODY,
    _BODY,
)
_DEFINITION_BLOCK = st.builds(
    lambda target, body: f"{target}\n<<<<<<< DEFINITION\ndef f(x):\n{body}\n>>>>>>> END",
    st.sampled_from(["pkg/mod.py::f", "pkg/mod.py::g", "pkg/mod.py"]),
    st.sampled_from(["    return x - 1", "    pass", "    return x + 1", "  return (", ""]),
)
_ANSWER = st.lists(st.one_of(_PIECES, _BLOCK, _DEFINITION_BLOCK), max_size=6).map("\n".join)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.one_of(st.lists(_PIECES, max_size=14).map("\n".join), _ANSWER))
def test_any_text_is_an_answer_or_a_typed_rejection(tmp_path: Path, text: str) -> None:
    root = tmp_path / "q"
    (root / "pkg").mkdir(parents=True, exist_ok=True)
    (root / "pkg" / "mod.py").write_text("def f(x):\n    return x + 1\n")
    config, rules = _project(root)
    try:
        answer = parse_answer(text, root, rules, config)
    except AnswerRejected as exc:
        assert exc.kind and exc.reason and "\n" not in exc.reason
    else:
        assert answer.diff


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_PROSE)
def test_prose_without_markers_is_always_prose_only(tmp_path: Path, text: str) -> None:
    root = tmp_path / "r"
    (root / "pkg").mkdir(parents=True, exist_ok=True)
    config, rules = _project(root)
    with pytest.raises(AnswerRejected) as caught:
        parse_answer(text, root, rules, config)
    assert caught.value.kind == "prose_only"
