"""Property: every mutant parses, and its diff applied to the original gives the mutant."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theseus.change.apply import patched_texts
from theseus.propose.repair.edit import Editor
from theseus.propose.repair.localize import Location
from theseus.propose.repair.mutants import MAX_PRIOR, RankedMutants, changes_at, generate

NAMES = st.sampled_from(["a", "b", "n", "xs"])
EXPRS = st.sampled_from(
    ["a + b", "a - 1", "n * 2", "len(xs)", "xs[n]", "xs[1:n]", "max(a, b)", "-a", "a // b"]
)
CONDS = st.sampled_from(["a < b", "n >= 0 and a", "not xs", "a is None", "b in xs", "a != b"])


@st.composite
def functions(draw: st.DrawFn) -> str:
    lines = ["def f(a, b, n, xs):", "    total = 0"]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["assign", "if", "for", "aug"]))
        if kind == "assign":
            lines.append(f"    {draw(NAMES)} = {draw(EXPRS)}  # note")
        elif kind == "if":
            lines += [f"    if {draw(CONDS)}:", f"        return {draw(EXPRS)}"]
        elif kind == "for":
            lines += ["    for i in range(n):", f"        total += {draw(EXPRS)}"]
        else:
            lines.append(f"    total -= {draw(EXPRS)}")
    lines.append(f"    return {draw(EXPRS)}")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(source=functions(), line=st.integers(2, 9))
def test_every_mutant_parses_and_its_diff_applies(tmp_path: Path, source: str, line: int) -> None:
    (tmp_path / "m.py").write_text(source)
    for change in changes_at(Editor("m.py", source), line)[:25]:
        ast.parse(change.new_source)
    for mutant in generate({"m.py": source}, [Location("m.py", line, 1.0)]):
        diff = mutant.diff({"m.py": source})
        assert patched_texts(tmp_path, diff).texts == {"m.py": mutant.texts[0][1]}
        break


@settings(max_examples=30, deadline=None)
@given(
    source=functions(),
    scores=st.lists(st.sampled_from([0.2, 0.5, 0.5, 0.9, 1.0]), min_size=1, max_size=6),
)
def test_lazy_ranking_hands_out_what_a_sort_of_the_whole_space_would(
    source: str, scores: list[float]
) -> None:
    """RankedMutants builds locations only as far as it is read, in the exact order of a
    stable sort of every mutant by score (ties included), and no prior breaks its bound."""
    locations = [Location("m.py", 2 + i, score) for i, score in enumerate(scores)]
    everything = list(generate({"m.py": source}, locations))
    assert all(m.prior <= MAX_PRIOR for m in everything)
    expected = [m.texts for m in sorted(everything, key=lambda m: -m.score)]
    lazy = RankedMutants({"m.py": source}, locations)
    first = lazy.at(0)
    assert (first is None) == (not expected)
    assert lazy.built <= len(everything)
    assert [m.texts for m in lazy] == expected
    assert lazy.at(len(expected)) is None and lazy.built == len(everything)
