"""`theseus repair` end to end on corpus programs (real subprocesses), and its bad inputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from theseus.paths import rules_from
from theseus.propose.base import ProposalContext, Proposer, SearchBudget
from theseus.propose.repair.proposer import RepairProposer

PROGRAMS = Path(__file__).resolve().parents[2] / "benchmarks" / "repair" / "programs"
THESEUS = [sys.executable, "-m", "theseus.cli.main"]


def _program(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(
        PROGRAMS / name, target, ignore=shutil.ignore_patterns("heldout", "__pycache__")
    )
    return target


def _repair(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*THESEUS, "repair", str(folder), *args], capture_output=True, text=True, timeout=280
    )


@pytest.mark.e2e
def test_repair_fixes_and_applies(tmp_path: Path) -> None:
    folder = _program(tmp_path, "p10_cheapest")
    done = _repair(folder, "--test", "python -m pytest -q test_shop.py", "--mutable", "*.py",
                   "--timeout", "200", "--json", "--apply")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "fixed" and result["applied"] is True
    assert "-    return max(" in result["diff"] and "+    return min(" in result["diff"]
    assert result["candidates_tried"] >= 1 and result["seconds"] > 0
    assert "return min(offers" in (folder / "shop.py").read_text()
    assert not (folder / "test_shop.py").read_text().count("min(")  # tests never mutated


@pytest.mark.e2e
def test_repair_wrong_result_without_apply_leaves_dir_alone(tmp_path: Path) -> None:
    folder = _program(tmp_path, "p17_between")
    before = (folder / "ranges.py").read_text()
    done = _repair(folder, "--test", "python -m pytest -q test_ranges.py", "--mutable",
                   "ranges.py", "--timeout", "200", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "+    return low <= x <= high" in json.loads(done.stdout)["diff"]
    assert (folder / "ranges.py").read_text() == before


@pytest.mark.e2e
def test_repair_proposer_yields_candidates(tmp_path: Path) -> None:
    folder = _program(tmp_path, "p05_discount")
    proposer: Proposer = RepairProposer(alternatives=1)
    ctx = ProposalContext(
        root=folder, base_commit="working-tree", rules=rules_from(folder, ["pricing.py"]),
        budget=SearchBudget.from_seconds(200, 500),
        test_command="python -m pytest -q test_pricing.py",
    )  # fmt: skip
    candidates = list(proposer.propose(ctx))
    assert candidates and candidates[0].proposer == "repair"
    assert "+    return price * (1 - percent / 100)" in candidates[0].diff


def test_passing_command_is_an_error(tmp_path: Path) -> None:
    folder = _program(tmp_path, "p01_clamp")
    done = _repair(folder, "--test", "true", "--mutable", "clamp.py")
    assert done.returncode == 2
    assert "passes on the unchanged code" in done.stderr and "Traceback" not in done.stderr


def test_command_not_found_is_an_error(tmp_path: Path) -> None:
    folder = _program(tmp_path, "p01_clamp")
    done = _repair(folder, "--test", "no-such-tool-xyz", "--mutable", "clamp.py")
    assert done.returncode == 2 and "cannot run" in done.stderr


def test_collection_error_is_an_error(tmp_path: Path) -> None:
    folder = _program(tmp_path, "p01_clamp")
    (folder / "test_broken.py").write_text("import does_not_exist\n")
    done = _repair(folder, "--test", "python -m pytest -q test_broken.py", "--mutable", "clamp.py")
    assert done.returncode == 2 and "ran no test" in done.stderr


def test_no_matching_file_is_an_error(tmp_path: Path) -> None:
    folder = _program(tmp_path, "p01_clamp")
    done = _repair(folder, "--test", "false", "--mutable", "src/**/*.py")
    assert done.returncode == 2 and "no Python file" in done.stderr


def test_missing_required_options(tmp_path: Path) -> None:
    done = _repair(tmp_path, "--mutable", "x.py")
    assert done.returncode == 2 and "--test" in done.stderr
