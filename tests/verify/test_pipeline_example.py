"""The issue's "must show", on the example support agent with evidence from its own traffic.

A candidate that fixes a seeded bug verifies green; one that also breaks another skill shows
the regression; one that adds ``import subprocess`` or edits a protected file is rejected by
policy before anything runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from theseus.change.candidate import Candidate
from theseus.config import Settings, load_settings
from theseus.evidence.curator import curate
from theseus.evidence.records import FailureBatch
from theseus.evidence.store import EvidenceStore
from theseus.verify.pipeline import Verification, verify_candidate

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_agent"
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, env=GIT_ENV
    )
    return done.stdout


@dataclass
class Example:
    root: Path
    settings: Settings
    batches: list[FailureBatch]
    bugs: dict[str, dict[str, str]]

    def batch(self, symptom: str) -> FailureBatch:
        return next(b for b in self.batches if symptom in b.title)

    def candidate(self, edits: list[tuple[str, str, str]]) -> Candidate:
        for path, old, new in edits:
            target = self.root / path
            text = target.read_text()
            assert old in text, f"{old!r} not in {path}"
            target.write_text(text.replace(old, new, 1))
        try:
            diff = git(self.root, "diff")
        finally:
            git(self.root, "checkout", "--", ".")
        head = git(self.root, "rev-parse", "HEAD").strip()
        return Candidate.create(base_commit=head, diff=diff, proposer="test")

    def fix(self, bug_id: str) -> tuple[str, str, str]:
        bug = self.bugs[bug_id]
        return bug["file"], bug["original"], bug["fixed"]

    def verify(self, candidate: Candidate, batch: FailureBatch) -> Verification:
        return verify_candidate(candidate, batch, self.settings, self.root)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    root = tmp_path_factory.mktemp("example") / "support_agent"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".theseus", "__pycache__"))
    (root / ".gitignore").write_text(".theseus/\n__pycache__/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    subprocess.run(  # real traffic through the real agent records real evidence
        [sys.executable, "-m", "traffic", "--sessions", "40"],
        cwd=root,
        check=True,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("THESEUS_")},
    )
    settings = load_settings(root)
    with EvidenceStore(settings.evidence_path) as store:
        batches = curate(store, settings)
    bugs = {b["id"]: b for b in json.loads((root / "seeded_bugs.json").read_text())}
    return Example(root, settings, batches, bugs)


def test_a_subprocess_import_is_rejected_by_policy_before_running(example: Example) -> None:
    candidate = example.candidate(
        [
            example.fix("saturday-business-day"),
            (
                "support_agent/skills/dates.py",
                "\nfrom datetime ",
                "\nimport subprocess\nfrom datetime ",
            ),
        ]
    )
    result = example.verify(candidate, example.batch("wrong_delivery_estimate"))
    assert result.status == "rejected_policy", result.reason
    assert any("subprocess" in v for v in result.violations), result.violations
    assert all("[parses]" not in v for v in result.violations)
    assert result.score is None and result.checks == {}
    assert not (example.settings.state_dir / "baselines").exists()  # nothing ran


def test_an_edit_of_a_protected_file_is_rejected_by_policy(example: Example) -> None:
    app = (example.root / "support_agent/app.py").read_text()
    first_line = app.splitlines()[0] + "\n"
    candidate = example.candidate(
        [
            example.fix("saturday-business-day"),
            ("support_agent/app.py", first_line, first_line + "# hi\n"),
        ]
    )
    result = example.verify(candidate, example.batch("wrong_delivery_estimate"))
    assert result.status == "rejected_policy"
    assert any("support_agent/app.py" in v for v in result.violations)
    assert result.score is None


def test_the_fix_of_a_seeded_bug_verifies_green(example: Example) -> None:
    batch = example.batch("wrong_delivery_estimate")
    result = example.verify(example.candidate([example.fix("saturday-business-day")]), batch)
    assert result.status == "verified", result.reason
    assert result.score is not None
    assert result.score.replay_fixed == result.score.replay_total == len(batch.cases) > 0
    assert result.score.tests_passed > 0 and result.score.regressions == []


def test_a_fix_that_breaks_another_skill_shows_the_regression(example: Example) -> None:
    breaks_units = (
        "support_agent/skills/units.py",
        "value = usd * RATES[target]",
        "value = usd / RATES[target]",
    )
    candidate = example.candidate([example.fix("saturday-business-day"), breaks_units])
    result = example.verify(candidate, example.batch("wrong_delivery_estimate"))
    assert result.status == "failed"
    assert result.score is not None
    assert result.score.replay_fixed == result.score.replay_total  # the batch is fixed ...
    assert (
        "tests/test_skills.py::test_conversion_between_supported_currencies"
        in result.score.regressions
    )
    assert "regression" in result.reason
    assert result.baseline_cached
