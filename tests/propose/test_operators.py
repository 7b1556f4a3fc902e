"""Each operator family produces the expected mutants on small snippets."""

from __future__ import annotations

import ast

import pytest

from theseus.propose.repair.edit import Editor
from theseus.propose.repair.mutants import changes_at, merge_texts
from theseus.propose.repair.stmt_operators import order_matters

SNIPPET = """\
def pick(items, limit, table, key):
    total = 0
    for i in range(len(items) - 1):
        if items[i] < limit and i > 0:  # keep
            total += items[i] * 2
    value = table[key]
    best = max(total, value)
    return best
"""


def _lines_changed(old: str, new: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(old.splitlines(), new.splitlines(), strict=False) if a != b]


def _mutants(line: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for change in changes_at(Editor("m.py", SNIPPET), line):
        ast.parse(change.new_source)  # every mutant parses
        changed = _lines_changed(SNIPPET, change.new_source)
        found.setdefault(change.operator, []).append(
            changed[0][1].strip() if changed else change.new_source
        )
    return found


def test_comparison_and_boolean_operators_keep_formatting() -> None:
    found = _mutants(4)
    assert "if items[i] <= limit and i > 0:  # keep" in found["compare_op"]
    assert "if items[i] < limit and i >= 0:  # keep" in found["compare_op"]
    assert "if items[i] < limit or i > 0:  # keep" in found["boolean_op"]
    assert "if items[i] < limit:  # keep" in found["drop_condition"]
    assert "if not (items[i] < limit and i > 0):  # keep" in found["negate_condition"]


def test_off_by_one_on_range_bound_and_index() -> None:
    assert "for i in range(len(items)):" in _mutants(3)["off_by_one"]
    assert "if items[i + 1] < limit and i > 0:  # keep" in _mutants(4)["off_by_one"]


def test_binary_and_augmented_assignment_operators() -> None:
    found = _mutants(5)
    assert "total -= items[i] * 2" in found["augassign_op"]
    assert "total += items[i] / 2" in found["binary_op"]


def test_callee_swap_args_and_name_replacement() -> None:
    found = _mutants(7)
    assert "best = min(total, value)" in found["replace_callee"]
    assert "best = max(value, total)" in found["swap_args"]
    assert "best = max(limit, value)" in found["replace_name"]


def test_guard_insertion_before_a_subscript() -> None:
    guards = [
        c.new_source for c in changes_at(Editor("m.py", SNIPPET), 6) if c.operator == "insert_guard"
    ]
    assert any("    if key not in table:\n        return best\n    value = table[key]" in g
               or "    if key not in table:\n        return None\n    value = table[key]" in g
               for g in guards)  # fmt: skip


def test_statement_delete_move_copy_and_return_value() -> None:
    ops = {c.operator for c in changes_at(Editor("m.py", SNIPPET), 7)}
    assert {"delete_statement", "move_statement", "copy_statement"} <= ops
    returns = _mutants(8)
    assert "return total" in returns["replace_name"] or "return total" in returns["return_value"]


def test_wrap_and_unwrap_calls() -> None:
    src = "def f(xs, n):\n    return len(xs) + n\n"
    found = {c.description for c in changes_at(Editor("m.py", src), 2)}
    assert "drop call to 'len'" in found
    assert "wrap 'n' in int()" in found


def test_precedence_is_kept_with_parentheses() -> None:
    editor = Editor("m.py", "def f(a, b):\n    return a * b  # product\n")
    ret = editor.tree.body[0].body[0]  # type: ignore[attr-defined]
    new = ast.BinOp(ast.Name("b", ast.Load()), ast.Add(), ast.Constant(1))
    text = editor.replace_expr(ret.value.right, new)
    assert text == "def f(a, b):\n    return a * (b + 1)  # product\n"


def test_mutants_are_deduplicated() -> None:
    changes = changes_at(Editor("m.py", SNIPPET), 4)
    assert len({c.new_source for c in changes}) == len(changes)


def test_merge_texts_combines_disjoint_edits_and_refuses_overlaps() -> None:
    base = "a = 1\nb = 2\nc = 3\n"
    assert (
        merge_texts(base, "a = 0\nb = 2\nc = 3\n", "a = 1\nb = 2\nc = 4\n")
        == "a = 0\nb = 2\nc = 4\n"
    )
    assert merge_texts(base, "a = 0\nb = 2\nc = 3\n", "a = 5\nb = 2\nc = 3\n") is None


@pytest.mark.parametrize("line", [1, 99])
def test_lines_without_statements_give_nothing_odd(line: int) -> None:
    for change in changes_at(Editor("m.py", SNIPPET), line):
        ast.parse(change.new_source)


def test_constant_can_become_negative() -> None:
    src = "def f(items):\n    return 0\n"
    texts = {c.new_source for c in changes_at(Editor("m.py", src), 2)}
    assert "def f(items):\n    return -1\n" in texts


GUARD = """\
def convert(amount, source, target, rates):
    if source not in rates and target not in rates:
        return None
    return amount / rates[source] * rates[target]
"""


def test_flipping_one_operand_of_a_compound_guard_ranks_below_changing_its_joiner() -> None:
    changes = changes_at(Editor("m.py", GUARD), 2)
    joiner = next(c for c in changes if "if source not in rates or target" in c.new_source)
    flipped = next(c for c in changes if "if source in rates and target not in" in c.new_source)
    assert joiner.prior > flipped.prior
    # Outside a compound condition the same flip keeps its usual, high prior.
    alone = changes_at(Editor("m.py", GUARD.replace(" and target not in rates", "")), 2)
    single = next(c for c in alone if "if source in rates:" in c.new_source)
    assert single.prior > joiner.prior


def test_a_mutant_is_proved_against_the_module_it_should_give() -> None:
    # An edit inside one function must not be confused by identical text elsewhere.
    source = GUARD + "\n\n" + GUARD.replace("def convert", "def convert_again")
    editor = Editor("m.py", source)
    for change in changes_at(editor, 2):
        tree = ast.parse(change.new_source)
        assert ast.unparse(tree.body[1]) == ast.unparse(ast.parse(source).body[1])
        assert ast.unparse(tree.body[0]) != ast.unparse(ast.parse(source).body[0])


MISORDERED = """\
def recent(items, limit):
    items = items[:limit]
    items.sort(reverse=True)
    label = str(limit)
    count = len(items)
    return items, label, count
"""


def test_moving_a_statement_ranks_higher_when_the_two_share_data() -> None:
    def move_prior(line: int) -> float:
        changes = changes_at(Editor("m.py", MISORDERED), line)
        return next(c.prior for c in changes if c.operator == "move_statement")

    # truncate-then-sort share `items` (sort changes it in place): the order matters
    # sort and `label = str(limit)` share nothing: swapping them is an equivalent mutant
    assert move_prior(2) > move_prior(3)
    # `label = ...` and `count = len(items)` share nothing either
    assert move_prior(4) == move_prior(3)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("x = f()", "y = g(x)", True),  # read after write
        ("y = g(x)", "x = f()", True),  # write after read
        ("x = 1", "x = 2", True),  # write after write
        ("x.append(1)", "print(x)", True),  # a method call may change its receiver
        ("x[0] = 1", "y = x", True),  # item assignment changes x
        ("total += a", "a = 0", True),  # augmented assignment reads its target
        ("a = b", "c = d", False),
        ("print(a)", "print(b)", False),  # reads only (calls on no receiver)
    ],
)
def test_order_matters(first: str, second: str, expected: bool) -> None:
    one, two = ast.parse(first).body[0], ast.parse(second).body[0]
    assert order_matters(one, two) is expected


def test_an_edit_that_changes_nothing_is_not_a_mutant() -> None:
    # Found by hypothesis: moving a statement below its identical twin gives the same module.
    source = "def f(xs):\n    a = len(xs)  # note\n    a = len(xs)  # note\n    return a\n"
    changes = changes_at(Editor("m.py", source), 2)
    assert changes and all(c.new_source != source for c in changes)
    assert "move_statement" not in {c.operator for c in changes}
