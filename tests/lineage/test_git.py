"""Lineage in real git: candidate refs that never touch the working tree, promoted commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from theseus.change.candidate import Candidate
from theseus.errors import NotFound, PatchError, TheseusError
from theseus.lineage import git

from .conftest import ADD_FIX, MUL_FIX, SOURCE, run_git


def candidate(root: Path, diff: str, sig: str = "TypeError:add") -> Candidate:
    return Candidate.create(
        base_commit=git.head(root),
        diff=diff,
        proposer="repair",
        signature=sig,
        rationale="swap the operator",
        meta={"evidence_ids": ["t1", "t2"]},
    )


def test_candidate_ref_leaves_the_working_tree_alone(repo: Path) -> None:
    before = git.head(repo)
    c = candidate(repo, ADD_FIX)
    commit = git.store_candidate_ref(repo, c)
    assert run_git(repo, "rev-parse", f"refs/theseus/candidates/{c.id}").strip() == commit
    assert (repo / "agent" / "calc.py").read_text() == SOURCE
    assert run_git(repo, "status", "--porcelain") == ""
    assert git.head(repo) == before
    assert "return a + b" in run_git(repo, "show", f"{commit}:agent/calc.py")
    assert run_git(repo, "rev-parse", f"{commit}^").strip() == before


def test_promote_commits_fix_and_regression_tests(repo: Path) -> None:
    base = git.head(repo)
    c = candidate(repo, ADD_FIX)
    test_file = "tests/theseus_regressions/test_add.py"
    commit = git.promote(
        repo,
        c,
        extra_files={test_file: "def test_add():\n    assert 1 + 1 == 2\n"},
        scores={"fixed": 2, "total": 2, "regressions": 0},
    )
    assert git.head(repo) == commit
    assert run_git(repo, "rev-parse", f"{commit}^").strip() == base
    assert "return a + b" in (repo / "agent" / "calc.py").read_text()
    assert (repo / test_file).is_file()
    assert run_git(repo, "status", "--porcelain") == ""
    message = run_git(repo, "log", "-1", "--format=%B")
    assert f"candidate {c.id}" in message
    assert "Evidence fixed: 2/2 failures of TypeError:add" in message
    assert "Evidence: t1, t2" in message
    assert f"Theseus-Candidate: {c.id}" in message
    assert run_git(repo, "log", "-1", "--format=%an").strip() == "Theseus"
    [version] = git.versions(repo)
    assert version.commit == commit and version.candidate_id == c.id
    assert version.signature == "TypeError:add"
    # the candidate ref was created on the way
    assert run_git(repo, "rev-parse", f"refs/theseus/candidates/{c.id}").strip()


def test_promote_applies_on_a_head_that_moved_on(repo: Path) -> None:
    first, second = candidate(repo, ADD_FIX, "s1"), candidate(repo, MUL_FIX, "s2")
    git.promote(repo, first)
    git.promote(repo, second)  # based on the old head; three-way onto the new one
    text = (repo / "agent" / "calc.py").read_text()
    assert "return a + b" in text and "return a * b" in text
    assert [v.candidate_id for v in git.versions(repo)] == [second.id, first.id]
    assert len(git.versions(repo, limit=1)) == 1


def test_promote_refuses_over_local_edits_and_changes_nothing(repo: Path) -> None:
    before = git.head(repo)
    (repo / "agent" / "calc.py").write_text(SOURCE + "# local edit\n")
    with pytest.raises(git.GitError, match="cannot bring the working tree"):
        git.promote(repo, candidate(repo, ADD_FIX))
    assert git.head(repo) == before
    assert (repo / "agent" / "calc.py").read_text().endswith("# local edit\n")


def test_promote_keeps_unrelated_local_edits(repo: Path) -> None:
    (repo / "notes.txt").write_text("draft\n")
    run_git(repo, "add", "notes.txt")
    run_git(repo, "-c", "user.name=D", "-c", "user.email=d@x", "commit", "-qm", "notes")
    (repo / "notes.txt").write_text("draft, edited\n")
    git.promote(repo, candidate(repo, ADD_FIX))
    assert (repo / "notes.txt").read_text() == "draft, edited\n"


def test_diff_that_does_not_apply_is_a_patch_error(repo: Path) -> None:
    bad = ADD_FIX.replace("return a - b", "return nothing")
    with pytest.raises(PatchError, match="does not apply"):
        git.store_candidate_ref(repo, candidate(repo, bad))
    assert run_git(repo, "for-each-ref", "refs/theseus") == ""


def test_unsafe_extra_file_path_is_refused(repo: Path) -> None:
    with pytest.raises(TheseusError, match="refusing to commit"):
        git.promote(repo, candidate(repo, ADD_FIX), extra_files={"../escape.py": "x"})


def test_project_in_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    top = tmp_path / "mono"
    root = top / "services" / "bot"
    (root / "agent").mkdir(parents=True)
    (root / "agent" / "calc.py").write_text(SOURCE)
    run_git(top, "init", "-q", "-b", "main")
    run_git(top, "add", "-A")
    run_git(top, "-c", "user.name=D", "-c", "user.email=d@x", "commit", "-qm", "init")
    git.promote(root, candidate(root, ADD_FIX), extra_files={"tests/test_r.py": "x = 1\n"})
    assert "return a + b" in (root / "agent" / "calc.py").read_text()
    assert (root / "tests" / "test_r.py").is_file()


def test_diff_between_versions_by_candidate_id_and_commit(repo: Path) -> None:
    base = git.head(repo)
    c = candidate(repo, ADD_FIX)
    git.promote(repo, c)
    text = git.diff(repo, base, c.id[:6])
    assert "-    return a - b" in text and "+    return a + b" in text
    assert git.diff(repo, "HEAD", "HEAD") == ""
    other = candidate(repo, MUL_FIX)
    git.store_candidate_ref(repo, other)
    assert "+    return a * b" in git.diff(repo, "HEAD", other.id)
    with pytest.raises(NotFound, match="no version"):
        git.resolve(repo, "no-such-thing")
    with pytest.raises(TheseusError, match="empty version"):
        git.resolve(repo, " ")


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(git.GitError, match="not inside a git repository"):
        git.head(tmp_path)


def test_repository_without_commits(tmp_path: Path) -> None:
    run_git(tmp_path, "init", "-q")
    with pytest.raises(git.GitError, match="no commits yet"):
        git.head(tmp_path)


def test_git_missing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-bin"))
    with pytest.raises(git.GitError, match="git is not installed"):
        git.head(repo)


def test_versions_is_empty_before_any_promotion(repo: Path) -> None:
    assert git.versions(repo) == []


def test_revert_puts_the_branch_back_after_a_live_rollback(repo: Path) -> None:
    c = candidate(repo, ADD_FIX)
    test_file = "tests/theseus_regressions/test_add.py"
    commit = git.promote(repo, c, extra_files={test_file: "def test_add():\n    pass\n"})
    reverted = git.revert(repo, commit, "health regression: error rate 9/20 vs baseline 0/20")
    assert git.head(repo) == reverted
    assert run_git(repo, "rev-parse", f"{reverted}^").strip() == commit  # history kept
    assert (repo / "agent" / "calc.py").read_text() == SOURCE  # the code before the fix
    assert not (repo / test_file).exists()
    assert run_git(repo, "status", "--porcelain") == ""
    message = run_git(repo, "log", "-1", "--format=%B")
    assert f"roll back {commit[:12]}" in message and "error rate 9/20" in message
    assert f"Theseus-Rollback-Of: {commit}" in message


def test_revert_refuses_when_the_branch_moved_on(repo: Path) -> None:
    first = git.promote(repo, candidate(repo, ADD_FIX))
    git.promote(repo, candidate(repo, MUL_FIX, sig="TypeError:mul"))
    with pytest.raises(git.GitError, match="moved on") as caught:
        git.revert(repo, first, "health regression")
    assert f"git revert {first[:12]}" in (caught.value.hint or "")


AUDIT_HASH = "ab" * 32


def test_promote_writes_the_audit_head_as_trailers(repo: Path) -> None:
    c = candidate(repo, ADD_FIX)
    commit = git.promote(repo, c, audit_head=(7, AUDIT_HASH))
    message = run_git(repo, "log", "-1", "--format=%B")
    trailers = message.rstrip().split("\n\n")[-1].splitlines()
    assert trailers[0] == f"Theseus-Candidate: {c.id}"
    assert trailers[-2:] == ["Theseus-Audit-Seq: 7", f"Theseus-Audit-Head: {AUDIT_HASH}"]
    assert git.audit_marks(repo) == [git.AuditMark(commit, 7, AUDIT_HASH)]
    assert [v.candidate_id for v in git.versions(repo)] == [c.id]
    git.promote(repo, candidate(repo, MUL_FIX, sig="TypeError:mul"))  # no audit head: no mark
    assert [m.commit for m in git.audit_marks(repo)] == [commit]


def test_a_rationale_cannot_forge_or_suppress_trailers(repo: Path) -> None:
    forged = f"Theseus-Audit-Seq: 1\nTheseus-Audit-Head: {'00' * 32}\ntheseus-candidate: x"
    c = Candidate.create(
        base_commit=git.head(repo), diff=ADD_FIX, proposer="llm", signature="s", rationale=forged
    )
    commit = git.promote(repo, c, audit_head=(3, AUDIT_HASH))
    assert git.audit_marks(repo) == [git.AuditMark(commit, 3, AUDIT_HASH)]
    assert git.versions(repo)[0].candidate_id == c.id
    assert "00" * 32 not in run_git(repo, "log", "-1", "--format=%B")


@pytest.mark.parametrize("bad", [(0, AUDIT_HASH), (1, "not-a-hash"), (True, AUDIT_HASH)])
def test_promote_refuses_a_malformed_audit_head(repo: Path, bad: tuple[int, str]) -> None:
    before = git.head(repo)
    with pytest.raises(TheseusError, match="not an audit head"):
        git.promote(repo, candidate(repo, ADD_FIX), audit_head=bad)
    assert git.head(repo) == before


def test_audit_marks_only_from_commits_touching_the_project(tmp_path: Path) -> None:
    top = tmp_path / "mono"
    bot, other = top / "bot", top / "other"
    for root in (bot, other):
        (root / "agent").mkdir(parents=True)
        (root / "agent" / "calc.py").write_text(SOURCE)
    run_git(top, "init", "-q", "-b", "main")
    run_git(top, "add", "-A")
    run_git(top, "-c", "user.name=D", "-c", "user.email=d@x", "commit", "-qm", "init")
    mine = git.promote(bot, candidate(bot, ADD_FIX), audit_head=(2, AUDIT_HASH))
    git.promote(other, candidate(other, ADD_FIX), audit_head=(9, "cd" * 32))
    assert [m.commit for m in git.audit_marks(bot)] == [mine]


def test_audit_marks_of_a_repository_without_commits(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run_git(tmp_path / "empty", "init", "-q")
    assert git.audit_marks(tmp_path / "empty") == []
    with pytest.raises(git.GitError, match="not inside a git repository"):
        git.audit_marks(tmp_path)


def test_with_a_fixes_branch_the_checked_out_one_and_the_working_tree_stay_put(
    repo: Path,
) -> None:
    main = git.head(repo)
    first = candidate(repo, ADD_FIX)
    commit = git.promote(repo, first, branch="theseus/fixes")
    assert git.head(repo) == main  # the checked-out branch did not move
    assert (repo / "agent" / "calc.py").read_text() == SOURCE  # nor did the working tree
    assert run_git(repo, "status", "--porcelain") == ""
    assert git.line_head(repo, "theseus/fixes") == commit
    assert run_git(repo, "rev-parse", f"{commit}^").strip() == main
    assert [v.commit for v in git.versions(repo, branch="theseus/fixes")] == [commit]
    assert git.versions(repo) == []

    rolled = git.revert(repo, commit, "p95 too high", branch="theseus/fixes")
    assert git.line_head(repo, "theseus/fixes") == rolled and git.head(repo) == main
    assert "return a - b" in run_git(repo, "show", f"{rolled}:agent/calc.py")


def test_a_fixes_branch_that_moved_underneath_is_refused_not_overwritten(repo: Path) -> None:
    git.promote(repo, candidate(repo, ADD_FIX), branch="theseus/fixes")
    tip = git.line_head(repo, "theseus/fixes")
    c = candidate(repo, MUL_FIX, sig="x")
    # another process moves the branch between our read of its tip and our update
    real = git._git_maybe

    def moved(root: Path, *args: str) -> str:
        found = real(root, *args)
        if args[:3] == ("rev-parse", "--verify", "--quiet") and args[3] == "refs/heads/theseus/fixes":
            run_git(repo, "update-ref", "refs/heads/theseus/fixes", f"{tip}^")
        return found

    git._git_maybe = moved  # type: ignore[assignment]
    try:
        with pytest.raises(TheseusError, match="cannot move branch theseus/fixes"):
            git.promote(repo, c, branch="theseus/fixes")
    finally:
        git._git_maybe = real  # type: ignore[assignment]


def test_the_checked_out_branch_named_as_the_fixes_branch_is_the_normal_path(repo: Path) -> None:
    current = run_git(repo, "symbolic-ref", "--short", "HEAD").strip()
    commit = git.promote(repo, candidate(repo, ADD_FIX), branch=current)
    assert git.head(repo) == commit and "return a + b" in (repo / "agent" / "calc.py").read_text()
