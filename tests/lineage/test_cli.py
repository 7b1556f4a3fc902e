"""`theseus audit`, `versions`, `diff` and `candidates` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from theseus.change.candidate import Candidate
from theseus.cli.main import main
from theseus.lineage import git
from theseus.lineage.state import open_archive, open_audit

from .conftest import ADD_FIX, MUL_FIX


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        result = main(list(args))
        code = result if isinstance(result, int) else 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def fill_audit(root: Path, n: int = 5) -> None:
    log = open_audit(root)
    for i in range(n):
        log.append("gate" if i % 2 else "proposal", {"i": i}, actor="bob")


def test_audit_verify_ok_and_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_audit(repo)
    code, out, _ = run(capsys, "audit", "verify", "-p", str(repo))
    assert code == 0 and "intact" in out and "5 records" in out
    code, out, _ = run(capsys, "audit", "verify", "-p", str(repo), "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] is True and data["records"] == 5


def test_audit_verify_names_the_bad_record(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_audit(repo)
    path = repo / ".theseus" / "audit.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"i":2', b'"i":7')
    path.write_bytes(b"".join(lines))
    code, out, _ = run(capsys, "audit", "verify", "-p", str(repo))
    assert code == 1 and "record 3" in out
    code, out, _ = run(capsys, "audit", "verify", "-p", str(repo), "--json")
    assert code == 1 and json.loads(out)["first_bad_seq"] == 3


def test_audit_show_filters(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_audit(repo)
    code, out, _ = run(capsys, "audit", "show", "-p", str(repo), "--kind", "gate", "--json")
    records = json.loads(out)
    assert code == 0 and [r["seq"] for r in records] == [2, 4]
    code, out, _ = run(capsys, "audit", "show", "-p", str(repo), "--last", "2", "--json")
    assert [r["seq"] for r in json.loads(out)] == [4, 5]
    code, out, _ = run(capsys, "audit", "show", "-p", str(repo))
    assert code == 0 and "proposal" in out and "bob" in out
    code, _, err = run(capsys, "audit", "show", "-p", str(repo), "--kind", "lunch")
    assert code == 2 and "lunch" in err


def test_no_project_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "audit", "verify", "-p", str(tmp_path))
    assert code == 2 and "no theseus.toml" in err and "Traceback" not in err


def test_versions_and_diff(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = git.head(repo)
    c = Candidate.create(base_commit=base, diff=ADD_FIX, proposer="repair", signature="s1")
    commit = git.promote(repo, c)
    code, out, _ = run(capsys, "versions", "-p", str(repo), "--json")
    data = json.loads(out)
    assert code == 0 and data["head"] == commit
    assert [v["candidate_id"] for v in data["versions"]] == [c.id]
    code, out, _ = run(capsys, "versions", "-p", str(repo))
    assert code == 0 and c.id in out
    code, out, _ = run(capsys, "diff", base, c.id, "-p", str(repo), "--json")
    assert code == 0 and "+    return a + b" in json.loads(out)["diff"]
    code, out, _ = run(capsys, "diff", base, "HEAD", "-p", str(repo))
    assert code == 0 and "return a + b" in out
    code, _, err = run(capsys, "diff", "nope", "HEAD", "-p", str(repo))
    assert code == 4 and "no version" in err


def test_candidates_list_show_diff(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = open_archive(repo)
    base = git.head(repo)
    a = archive.add(
        Candidate.create(base_commit=base, diff=ADD_FIX, proposer="repair", signature="s1")
    )
    b = archive.add(
        Candidate.create(base_commit=base, diff=MUL_FIX, proposer="llm", signature="s2")
    )
    archive.set_status(a.id, "verified", "fixed 2/2", actor="verify")
    archive.record_scores(a.id, {"replay_fixed": 2, "replay_total": 2, "regressions": []})
    archive.close()
    code, out, _ = run(capsys, "candidates", "list", "-p", str(repo), "--json")
    rows = json.loads(out)
    assert code == 0 and [r["id"] for r in rows] == [a.id, b.id] and "diff" not in rows[0]
    code, out, _ = run(
        capsys, "candidates", "list", "-p", str(repo), "--status", "verified", "--json"
    )
    assert [r["id"] for r in json.loads(out)] == [a.id]
    code, out, _ = run(capsys, "candidates", "list", "-p", str(repo))
    assert code == 0 and "2/2" in out and b.id in out
    code, out, _ = run(capsys, "candidates", "show", a.id[:6], "-p", str(repo), "--json")
    shown = json.loads(out)
    assert shown["status"] == "verified" and [h["to_status"] for h in shown["history"]] == [
        "proposed",
        "verified",
    ]
    code, out, _ = run(capsys, "candidates", "show", a.id, "-p", str(repo))
    assert code == 0 and "history" in out and "return a + b" in out
    code, out, _ = run(capsys, "candidates", "diff", b.id, "-p", str(repo), "--json")
    assert json.loads(out)["diff"] == MUL_FIX
    code, out, _ = run(capsys, "candidates", "diff", b.id, "-p", str(repo))
    assert code == 0 and "return a * b" in out
    code, _, err = run(capsys, "candidates", "show", "fffffff", "-p", str(repo))
    assert code == 4 and "no candidate" in err
