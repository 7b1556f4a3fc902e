"""`theseus bench swap`: its config surgery, its error reporting, and a real run end to end."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from theseus.bench.swap import RUNTIME, _wait_up, example_agent, with_runtime
from theseus.errors import BenchError


def test_the_examples_own_runtime_table_is_merged_not_duplicated() -> None:
    config = (example_agent() / "theseus.toml").read_text()
    assert "[runtime]" in config  # the case that broke the bench: a second table
    merged = tomllib.loads(with_runtime(config, RUNTIME))
    original = tomllib.loads(config)
    assert merged["runtime"] == {**original["runtime"], **RUNTIME}
    assert {k: v for k, v in merged.items() if k != "runtime"} == {
        k: v for k, v in original.items() if k != "runtime"
    }


def test_a_config_without_a_runtime_table_gets_one() -> None:
    config = '[agent]\nname = "a"\n\n[paths]\nmutable = ["a/*.py"]\n'
    merged = tomllib.loads(with_runtime(config, {"workers_per_version": 3}))
    assert merged["runtime"] == {"workers_per_version": 3} and merged["paths"]["mutable"]


scalars = st.one_of(
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
keys = st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True)


@given(
    st.dictionaries(keys, scalars | st.lists(scalars, max_size=3), max_size=6),
    st.dictionaries(keys, scalars, max_size=6),
)
def test_merging_always_gives_valid_toml_with_the_bench_values_winning(
    existing: dict[str, object], values: dict[str, object]
) -> None:
    existing = {k: v for k, v in existing.items() if not isinstance(v, list) or v}
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in existing.items())
    config = '[agent]\nname = "x"\n\n[runtime]\n' + lines + '\n\n[tests]\ncommand = "pytest"\n'
    try:
        parsed = tomllib.loads(config)
    except tomllib.TOMLDecodeError:
        return  # json.dumps wrote something TOML does not take (mixed arrays): not our input
    merged = tomllib.loads(with_runtime(config, values))
    assert merged["runtime"] == {**parsed["runtime"], **values}
    assert merged["tests"] == {"command": "pytest"} and merged["agent"] == {"name": "x"}


def test_a_server_that_dies_is_reported_in_its_own_words(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; print('error: port 1 is in use', file=sys.stderr);"
             " sys.exit(2)"],
            stderr=out,
        )  # fmt: skip
    with pytest.raises(BenchError, match=r"exited with code 2: error: port 1 is in use"):
        asyncio.run(_wait_up("http://127.0.0.1:9", timeout=30, proc=proc, log=log))


@pytest.mark.e2e
def test_bench_swap_runs_end_to_end(tmp_path: Path) -> None:
    """Outcomes, not speed: nothing failed or lost, a session migrated, the broken version
    was rolled back, no worker outlived the run."""
    done = subprocess.run(
        [sys.executable, "-m", "theseus.cli.main", "bench", "swap", "--json",
         "--sessions", "4", "--duration", "6"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["failed_requests"] == 0 and result["sessions_lost"] == 0
    assert result["sessions_migrated"] >= 1 and result["rollbacks"] >= 1
    assert result["orphan_workers"] == []
    assert [s["version"] for s in result["swaps"]] == ["v2", "v3", "v4"]
    assert result["swaps"][1]["rolled_back"] and not result["swaps"][0].get("rolled_back")
