"""Lineage in git: every candidate on its own ref, every promoted version a commit.

Candidates are committed through a temporary index (``GIT_INDEX_FILE``) with plumbing
(``read-tree``, ``apply --cached``, ``write-tree``, ``commit-tree``), so building them never
touches the live working tree the agent is serving from. Promotion makes a commit on the
current branch whose parent is HEAD and then fast-forwards to it with ``merge --ff-only``,
which updates only the files the fix changes and refuses, leaving everything as it was, if a
person has uncommitted edits in those files.

Promoted commits carry trailers (``Theseus-Candidate: ID``, ``Theseus-Signature: ...``), so
``versions`` is just ``git log`` read back, and any clone of the repository keeps the lineage.
They also name the audit log's last record at promotion time (``Theseus-Audit-Seq: N``,
``Theseus-Audit-Head: HASH``), so a log cut short or rewritten later contradicts every clone
(:func:`audit_marks` reads them back; :mod:`.audit_head` checks them). Only Theseus writes
these trailers: lines in a message body that look like them are dropped, so a rationale
written by a model cannot forge or suppress them.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from theseus.change.candidate import Candidate
from theseus.errors import GitError, NotFound, PatchError, TheseusError

CANDIDATE_REFS = "refs/theseus/candidates/"
TRAILER = "Theseus-Candidate"
AUDIT_SEQ_TRAILER = "Theseus-Audit-Seq"
AUDIT_HEAD_TRAILER = "Theseus-Audit-Head"
_OWN_TRAILER = re.compile(
    r"^(?:Theseus-(?:Candidate|Signature|Proposer|Audit-Seq|Audit-Head))\s*:.*$\n?", re.M | re.I
)
_AUTHOR = {"GIT_AUTHOR_NAME": "Theseus", "GIT_AUTHOR_EMAIL": "theseus@localhost"}
_SAFE_PATH = re.compile(r"^(?!/)(?!.*(?:^|/)\.\.(?:/|$))[^\0\n]+$")


@dataclass(frozen=True)
class Version:
    """One promoted version: a commit on the branch made from a candidate."""

    commit: str
    candidate_id: str
    signature: str | None
    subject: str
    time: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AuditMark:
    """The audit head a promotion commit recorded; ``seq`` is None when its trailer is not a
    number (the audit check reports that commit)."""

    commit: str
    seq: int | None
    digest: str


def _git(
    root: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            check=False,
        )
    except FileNotFoundError:
        raise GitError(
            "git is not installed", hint="install git (it keeps Theseus' lineage)"
        ) from None
    if done.returncode != 0:
        detail = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise GitError(f"git {args[0]} failed in {root}: {detail[-1] if detail else 'no output'}")
    return done.stdout


def toplevel(root: Path) -> Path:
    """The repository's top folder (clear error when ``root`` is not in a repository)."""
    try:
        return Path(_git(root, "rev-parse", "--show-toplevel").strip())
    except GitError as exc:
        if "git is not installed" in exc.message:
            raise
        raise GitError(
            f"{root} is not inside a git repository",
            hint="run `git init` and commit the agent's code; Theseus records versions as commits",
        ) from None


def _prefix(root: Path) -> str:
    return _git(root, "rev-parse", "--show-prefix").strip()


def head(root: Path) -> str:
    """The commit the working tree is on."""
    toplevel(root)
    try:
        return _git(root, "rev-parse", "--verify", "HEAD^{commit}").strip()
    except GitError:
        raise GitError(
            f"the repository at {root} has no commits yet", hint="commit the agent's code first"
        ) from None


def line_head(root: Path, branch: str | None) -> str:
    """The commit the next fix builds on: HEAD, or the tip of ``branch`` ([lineage] branch)
    once it exists (HEAD until the first promotion creates it)."""
    if branch is None:
        return head(root)
    done = _git_maybe(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    return done if done else head(root)


def _own_branch(root: Path, branch: str | None) -> str | None:
    """``branch`` unless it is the checked-out one (then fixes go through the working tree)."""
    if branch is None:
        return None
    current = _git_maybe(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    return None if current == branch else branch


def _git_maybe(root: Path, *args: str) -> str:
    try:
        return _git(root, *args).strip()
    except GitError:
        return ""


def candidate_ref(candidate_id: str) -> str:
    return CANDIDATE_REFS + candidate_id


def _identity_env(root: Path) -> dict[str, str]:
    """Theseus is the author; the committer is whoever git says, else Theseus too."""
    env = dict(_AUTHOR)
    try:
        _git(root, "var", "GIT_COMMITTER_IDENT")
    except GitError:
        env.update(GIT_COMMITTER_NAME="Theseus", GIT_COMMITTER_EMAIL="theseus@localhost")
    return env


def _build_tree(
    root: Path, base: str, diff: str, extra_files: Mapping[str, str], *, three_way: bool
) -> str:
    """The tree of ``base`` with ``diff`` and ``extra_files`` applied, in a throwaway index."""
    top, prefix = toplevel(root), _prefix(root)
    with tempfile.TemporaryDirectory(prefix="theseus-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(top, "read-tree", base, env=env)
        if diff.strip():
            args = ["apply", "--cached", "--whitespace=nowarn"]
            if prefix:
                args.append(f"--directory={prefix.rstrip('/')}")
            if three_way:
                args.append("--3way")
            try:
                _git(top, *args, "-", env=env, stdin=diff if diff.endswith("\n") else diff + "\n")
            except GitError as exc:
                raise PatchError(
                    f"the candidate's diff does not apply to {base[:12]}: {exc.message}",
                    hint="regenerate the candidate from the current version",
                ) from None
        for relpath, content in sorted(extra_files.items()):
            if not _SAFE_PATH.match(relpath):
                raise TheseusError(
                    f"refusing to commit a file at {relpath!r}",
                    hint="use a path inside the project",
                )
            blob = _git(top, "hash-object", "-w", "--stdin", stdin=content).strip()
            _git(
                top,
                "update-index",
                "--add",
                "--cacheinfo",
                f"100644,{blob},{prefix}{relpath}",
                env=env,
            )
        return _git(top, "write-tree", env=env).strip()


def _message(candidate: Candidate, body: str, audit_head: tuple[int, str] | None = None) -> str:
    """``body`` plus Theseus' trailers as its last paragraph; trailer-like body lines are
    dropped first, so the trailers git reads back are exactly the ones written here."""
    text = _OWN_TRAILER.sub("", body).rstrip() + "\n"
    trailers = [f"{TRAILER}: {candidate.id}"]
    if candidate.signature:
        trailers.append(f"Theseus-Signature: {candidate.signature}")
    trailers.append(f"Theseus-Proposer: {candidate.proposer}")
    if audit_head is not None:
        trailers += [
            f"{AUDIT_SEQ_TRAILER}: {audit_head[0]}",
            f"{AUDIT_HEAD_TRAILER}: {audit_head[1]}",
        ]
    return text + "\n" + "\n".join(trailers) + "\n"


def _checked_audit_head(audit_head: tuple[int, str] | None) -> tuple[int, str] | None:
    if audit_head is None:
        return None
    seq, digest = audit_head
    if type(seq) is not int or seq < 1 or not re.fullmatch(r"[0-9a-f]{64}", str(digest)):
        raise TheseusError(
            f"not an audit head: {audit_head!r}",
            hint="pass AuditLog.head(): (seq >= 1, 64 hex digits)",
        )
    return seq, digest


def store_candidate_ref(root: Path, candidate: Candidate) -> str:
    """Commit the candidate (its base plus its diff) on ``refs/theseus/candidates/ID``."""
    tree = _build_tree(root, candidate.base_commit, candidate.diff, {}, three_way=False)
    summary = f"theseus candidate {candidate.id} ({candidate.proposer})"
    message = _message(candidate, f"{summary}\n\n{candidate.rationale}".rstrip())
    commit = _git(
        root,
        "commit-tree",
        tree,
        "-p",
        candidate.base_commit,
        "-F",
        "-",
        env=_identity_env(root),
        stdin=message,
    ).strip()
    _git(root, "update-ref", candidate_ref(candidate.id), commit)
    return commit


def promotion_message(candidate: Candidate, scores: Mapping[str, Any] | None = None) -> str:
    """A commit message that names the candidate, the evidence it fixes and its scores."""
    scores = scores or {}
    what = candidate.signature or "its batch"
    lines = [f"theseus: fix {what} (candidate {candidate.id})", ""]
    if candidate.rationale:
        lines += [candidate.rationale, ""]
    if "fixed" in scores and "total" in scores:
        lines.append(f"Evidence fixed: {scores['fixed']}/{scores['total']} failures of {what}")
    shown = ", ".join(f"{k} {v}" for k, v in scores.items() if not isinstance(v, dict | list))
    if shown:
        lines.append(f"Scores: {shown}")
    evidence = candidate.meta.get("evidence_ids")
    if isinstance(evidence, list) and evidence:
        lines.append("Evidence: " + ", ".join(str(e) for e in evidence[:20]))
    return "\n".join(lines)


def promote(
    root: Path,
    candidate: Candidate,
    message: str | None = None,
    extra_files: Mapping[str, str] | None = None,
    scores: Mapping[str, Any] | None = None,
    *,
    audit_head: tuple[int, str] | None = None,
    branch: str | None = None,
) -> str:
    """Make the candidate (plus ``extra_files``, e.g. regression tests) a commit on the current
    branch and bring the working tree to it; returns the new commit.

    The diff is applied to HEAD (three-way when HEAD moved on since the candidate's base).
    Uncommitted edits in the files it changes make this fail with nothing changed. With
    ``branch`` (not the checked-out one) the commit goes on that branch instead, on top of
    its tip, and the working tree is not touched.
    ``audit_head`` (``AuditLog.head()``: seq and hash of the last audit record) is written as
    trailers, so the log can later be checked against the commit (``AuditLog.verify(repo=)``).
    """
    audit_head = _checked_audit_head(audit_head)
    branch = _own_branch(root, branch)
    parent = line_head(root, branch)
    try:
        _git(root, "rev-parse", "--verify", "--quiet", candidate_ref(candidate.id))
    except GitError:
        store_candidate_ref(root, candidate)
    tree = _build_tree(
        root, parent, candidate.diff, extra_files or {}, three_way=parent != candidate.base_commit
    )
    body = _message(candidate, message or promotion_message(candidate, scores), audit_head)
    return _commit_on_branch(
        root, tree, parent, body, "the promoted version", branch=branch,
        hint="commit or stash local edits to the files the fix changes, then promote again",
    )  # fmt: skip


def _commit_on_branch(
    root: Path, tree: str, parent: str, message: str, what: str, *, hint: str, branch: str | None
) -> str:
    """Commit ``tree`` on top of ``parent`` (HEAD) and fast-forward the branch and working
    tree to it; local edits to the files it changes make this fail with nothing changed.
    With ``branch``: move that branch from ``parent`` to the commit (compare-and-swap, so a
    concurrent move is refused, never lost), creating it if it does not exist yet."""
    commit = _git(
        root, "commit-tree", tree, "-p", parent, "-F", "-", env=_identity_env(root), stdin=message
    ).strip()
    if branch is not None:
        ref = f"refs/heads/{branch}"
        old = _git_maybe(root, "rev-parse", "--verify", "--quiet", ref)
        try:
            _git(root, "update-ref", "-m", f"theseus: {what}", ref, commit, old)
        except GitError as exc:
            raise GitError(f"cannot move branch {branch} to {what}: {exc.message}") from None
        return commit
    try:
        _git(root, "merge", "--ff-only", "--quiet", commit)
    except GitError as exc:
        raise GitError(
            f"cannot bring the working tree to {what}: {exc.message}",
            hint=hint,
        ) from None
    return commit


def revert(root: Path, commit: str, reason: str, *, branch: str | None = None) -> str:
    """Record that the live service rolled ``commit`` back: a new commit on top of it whose
    code is its parent's, so the branch matches what is served again and the next candidate
    is not built on the change that was rolled back. HEAD (or ``branch``'s tip) must still
    be ``commit``."""
    branch = _own_branch(root, branch)
    current = line_head(root, branch)
    if current != commit:
        raise GitError(
            f"cannot record the rollback of {commit[:12]}: the branch moved on to {current[:12]}",
            hint=f"undo it by hand with `git revert {commit[:12]}`",
        )
    tree = _git(root, "rev-parse", f"{commit}^^{{tree}}").strip()
    message = f"theseus: roll back {commit[:12]}\n\n{reason}\n\nTheseus-Rollback-Of: {commit}\n"
    return _commit_on_branch(
        root, tree, commit, message, f"the code before {commit[:12]}", branch=branch,
        hint="commit or stash local edits to the files it changes, then revert by hand",
    )  # fmt: skip


def versions(root: Path, limit: int | None = None, *, branch: str | None = None) -> list[Version]:
    """Promoted versions on the current branch (or ``branch``), newest first."""
    tip = line_head(root, branch)
    fmt = f"%H%x1f%ct%x1f%s%x1f%(trailers:key={TRAILER},valueonly,separator=%x2C)%x1f%(trailers:key=Theseus-Signature,valueonly,separator=%x2C)%x1e"
    found: list[Version] = []
    for entry in _git(root, "log", f"--format={fmt}", tip).split("\x1e"):
        parts = entry.strip("\n").split("\x1f")
        if len(parts) != 5 or not parts[3].strip():
            continue
        commit, when, subject, cand, sig = parts
        found.append(Version(commit, cand.strip(), sig.strip() or None, subject, int(when)))
        if limit is not None and len(found) >= limit:
            break
    return found


def audit_marks(root: Path) -> list[AuditMark]:
    """The audit heads recorded by commits on the current branch that touch ``root`` (the
    project folder, so other projects in the same repository do not count), newest first;
    empty when the repository has no commits yet."""
    toplevel(root)
    try:
        _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except GitError:
        return []
    keys = (AUDIT_SEQ_TRAILER, AUDIT_HEAD_TRAILER)
    fields = "%x1f".join(f"%(trailers:key={k},valueonly,separator=%x2C)" for k in keys)
    listing = _git(root, "log", f"--format=%H%x1f{fields}%x1e", "HEAD", "--", ".")
    found: list[AuditMark] = []
    for entry in listing.split("\x1e"):
        parts = entry.strip("\n").split("\x1f")
        if len(parts) != 3 or not (parts[1].strip() or parts[2].strip()):
            continue
        commit, seq, digest = (p.strip() for p in parts)
        number = int(seq) if re.fullmatch(r"[0-9]{1,18}", seq) else None
        found.append(AuditMark(commit, number, digest))
    return found


def resolve(root: Path, name: str) -> str:
    """A commit for a version name: a promoted candidate id (or prefix), a candidate ref,
    or anything git understands (sha, branch, tag, HEAD~2)."""
    name = name.strip()
    if not name:
        raise TheseusError("empty version name", hint="see `theseus versions`")
    if re.fullmatch(r"[0-9a-f]{4,64}", name):
        promoted = {v.commit for v in versions(root) if v.candidate_id.startswith(name)}
        if len(promoted) == 1:
            return promoted.pop()
        listing = _git(root, "for-each-ref", "--format=%(refname) %(objectname)", CANDIDATE_REFS)
        refs = [line.split() for line in listing.splitlines() if line.strip()]
        commits = {obj for ref, obj in refs if ref.removeprefix(CANDIDATE_REFS).startswith(name)}
        if len(commits) == 1:
            return commits.pop()
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", name + "^{commit}").strip()
    except GitError:
        raise NotFound(
            f"no version, candidate or commit named {name!r}", hint="see `theseus versions`"
        ) from None


def diff(root: Path, a: str, b: str) -> str:
    """The unified diff between two versions (see :func:`resolve` for the names)."""
    return _git(root, "diff", resolve(root, a), resolve(root, b))
