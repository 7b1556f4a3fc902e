"""Property: every mutant parses, and its diff applied to the original gives the mutant."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theseus.change.apply import patched_texts
from theseus.propose.repair.edit import Editor
from theseus.propose.repair.localize import Location
from theseus.propose.repair.mutants import changes_at, generate

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
