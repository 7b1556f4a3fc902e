"""A candidate's own folder: a detached git worktree at its base commit, or a copy.

Nothing a candidate does may touch the live tree the running agent is served from, so every
patch is applied, and every proposer or test run happens, in a throwaway workspace. In a git
project that is ``git worktree add --detach`` at the base commit (cheap: shared object store,
and several can exist at once); in a folder without git it is a copy of the project minus
caches and virtualenvs. Either way the workspace disappears when the ``with`` block ends, and
stray worktree records are pruned, even if the process is interrupted (``weakref.finalize``).

Non-git projects have no commits; :data:`WORKING_TREE` stands in for the base of their
candidates, meaning "the folder as it is when the workspace is made".
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Literal

from theseus._scratch import DEFAULT_QUOTA, Quota, make_scratch, reap_stale, release_scratch
from theseus.change.apply import ApplyResult, apply_patch, write_texts
from theseus.change.candidate import Candidate
from theseus.change.diffs import diff_texts
from theseus.errors import PatchError
from theseus.paths import STATE_DIR

WORKING_TREE = "working-tree"
EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "__pycache__",
        STATE_DIR,
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        ".tox",
        "node_modules",
    }
)
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run git without hooks or prompts; PatchError with git's own words when it fails."""
    try:
        done = subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", *args],
            cwd=cwd,
            capture_output=True,
            env={**os.environ, **_GIT_ENV},
            check=False,
        )
    except FileNotFoundError:
        raise PatchError(
            "git is not installed", hint="install git or use a non-git project"
        ) from None
    if check and done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise PatchError(
            f"git {args[0]} failed in {cwd}: {message[-1] if message else 'no output'}"
        )
    return done


def is_git_repo(root: Path) -> bool:
    """Whether ``root`` lies inside a git work tree."""
    try:
        done = _git(root, "rev-parse", "--is-inside-work-tree", check=False)
    except PatchError:
        return False
    return done.returncode == 0 and done.stdout.strip() == b"true"


def current_commit(root: Path) -> str:
    """The commit the project is at (HEAD), or :data:`WORKING_TREE` outside git."""
    if not is_git_repo(root):
        return WORKING_TREE
    done = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    if done.returncode != 0:
        raise PatchError(
            f"the git repository at {root} has no commits yet",
            hint="commit the agent's code first: every live version is a git commit",
        )
    return done.stdout.decode().strip()


def _excluded(rel: str) -> bool:
    parts = rel.split("/")
    return (
        any(p in EXCLUDED_DIRS for p in parts[:-1])
        or rel.endswith(EXCLUDED_SUFFIXES)
        or (parts[-1] in EXCLUDED_DIRS)
    )


@contextlib.contextmanager
def _worktree_lock(lock: str | Path) -> Iterator[None]:
    """Hold the repository's worktree lock: one ``worktree add/remove/prune`` at a time.

    git writes a new worktree's record in several steps, and a concurrent ``worktree add``
    that lists the records meanwhile fails ("failed to read .git/worktrees/.../commondir"),
    while a concurrent ``prune`` may even delete the half-written one. An exclusive ``flock``
    on ``lock``, a file in the common git folder, serialises these across threads and
    processes; the commands take milliseconds, so the wait is short.
    """
    if not Path(lock).parent.is_dir():
        yield  # the repository was removed under us: nothing to serialise
        return
    with open(lock, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _cleanup(tmpdir: str, repo: str | None, worktree: str | None, lock: str | None) -> None:
    if repo is None or worktree is None or lock is None:
        release_scratch(tmpdir)
        return
    with _worktree_lock(lock):
        subprocess.run(
            ["git", "worktree", "remove", "--force", "--force", worktree],
            cwd=repo,
            capture_output=True,
            check=False,
        )
        release_scratch(tmpdir)
        subprocess.run(["git", "worktree", "prune"], cwd=repo, capture_output=True, check=False)


def reap_stale_workspaces(project_root: Path) -> int:
    """Remove what killed runs left: scratch folders whose owner process is gone, then the
    repository's records of worktrees that no longer exist. The number of folders removed."""
    removed = reap_stale()
    root = project_root.resolve()
    if is_git_repo(root):
        where = _git(root, "rev-parse", "--git-common-dir", check=False)
        if where.returncode == 0:
            lock = Path(root, where.stdout.decode().strip(), "theseus-worktree.lock")
            with _worktree_lock(lock):
                _git(root, "worktree", "prune", check=False)
    return removed


class Workspace:
    """A throwaway copy of the project at one base; use :meth:`create` in a ``with``."""

    def __init__(
        self,
        *,
        path: Path,
        mode: Literal["worktree", "copy"],
        base_commit: str,
        project_root: Path,
        tmpdir: Path,
        repo: Path | None = None,
        worktree: Path | None = None,
        lock: Path | None = None,
        baseline: dict[str, bytes] | None = None,
    ) -> None:
        self.path = path
        self.mode = mode
        self.base_commit = base_commit
        self.project_root = project_root
        self.tmpdir = tmpdir
        self._baseline = baseline or {}
        self._finalizer = weakref.finalize(
            self,
            _cleanup,
            str(tmpdir),
            None if repo is None else str(repo),
            None if worktree is None else str(worktree),
            None if lock is None else str(lock),
        )

    @classmethod
    def create(
        cls,
        project_root: Path,
        base_commit: str | None = None,
        *,
        parent: Path | None = None,
        quota: Quota | None = DEFAULT_QUOTA,
    ) -> Workspace:
        """A workspace for ``project_root`` at ``base_commit`` (default: the current one).

        As root the workspace is a tmpfs of ``quota`` (bytes and files), so code run in it
        cannot fill the host's disk; a project larger than the quota cannot be checked out
        (raise ``[verify] workspace_mb`` / ``workspace_files``)."""
        root = project_root.resolve()
        if not root.is_dir():
            raise PatchError(f"project folder {project_root} does not exist")
        tmpdir = make_scratch("theseus-ws-", parent, quota)
        try:
            if is_git_repo(root) and base_commit != WORKING_TREE:
                return cls._worktree(root, base_commit, tmpdir)
            if base_commit not in (None, WORKING_TREE):
                raise PatchError(
                    f"{root} is not a git repository, so commit {base_commit} cannot be checked out",
                    hint=f"use base {WORKING_TREE!r} for projects without git",
                )
            return cls._copy(root, tmpdir)
        except BaseException:
            release_scratch(tmpdir)
            raise

    @classmethod
    def _worktree(cls, root: Path, base_commit: str | None, tmpdir: Path) -> Workspace:
        wanted = base_commit or "HEAD"
        done = _git(root, "rev-parse", "--verify", "--quiet", f"{wanted}^{{commit}}", check=False)
        if done.returncode != 0:
            raise PatchError(
                f"base commit {wanted!r} does not exist in {root}",
                hint="the candidate was made on another repository, or the commit was removed",
            )
        commit = done.stdout.decode().strip()
        where = _git(root, "rev-parse", "--show-toplevel", "--show-prefix", "--git-common-dir")
        top_line, prefix, common = where.stdout.decode().splitlines()
        top, lock = Path(top_line), Path(root, common, "theseus-worktree.lock")
        worktree = tmpdir / f"wt-{uuid.uuid4().hex[:12]}"
        add = ("worktree", "add", "--detach", "--quiet", str(worktree), commit)
        for attempt in range(5):  # a git run outside Theseus may hold the index lock; retry
            with _worktree_lock(lock):
                done = _git(top, *add, check=False)
            if done.returncode == 0:
                break
            if b"lock" not in done.stderr or attempt == 4:
                message = done.stderr.decode(errors="replace").strip()
                raise PatchError(f"git worktree add failed in {top}: {message}")
            time.sleep(0.05 * (attempt + 1))
        return cls(
            path=worktree / prefix if prefix else worktree,
            mode="worktree",
            base_commit=commit,
            project_root=root,
            tmpdir=tmpdir,
            repo=top,
            worktree=worktree,
            lock=lock,
        )

    @classmethod
    def _copy(cls, root: Path, tmpdir: Path) -> Workspace:
        dest = tmpdir / "copy"

        def ignore(folder: str, names: list[str]) -> set[str]:
            return {n for n in names if n in EXCLUDED_DIRS or n.endswith(EXCLUDED_SUFFIXES)}

        shutil.copytree(root, dest, symlinks=True, ignore=ignore)
        workspace = cls(
            path=dest, mode="copy", base_commit=WORKING_TREE, project_root=root, tmpdir=tmpdir
        )
        workspace._baseline = workspace._snapshot()
        return workspace

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Remove the workspace (and its worktree record); safe to call twice."""
        self._finalizer()

    def apply(self, change: Candidate | str) -> ApplyResult:
        """Apply a candidate (or a bare diff) to this workspace; PatchError when it does not."""
        self._check_open()
        if isinstance(change, Candidate):
            if self.mode == "worktree" and not self.base_commit.startswith(change.base_commit):
                raise PatchError(
                    f"candidate {change.id} is based on {change.base_commit[:12]}, "
                    f"this workspace on {self.base_commit[:12]}",
                    hint="create the workspace at the candidate's base commit",
                )
            return apply_patch(self.path, change.diff)
        return apply_patch(self.path, change)

    def write(self, new_texts: Mapping[str, str | None]) -> None:
        """Replace (or, with None, delete) whole files in the workspace."""
        self._check_open()
        write_texts(self.path, new_texts)

    def diff(self) -> str:
        """Everything changed in the workspace since its base, as a git-style diff."""
        self._check_open()
        old, new = self._changes()
        modes = {
            path: "100755" if (self.path / path).stat().st_mode & 0o111 else "100644"
            for path, text in new.items()
            if text is not None
        }
        return diff_texts(old, new, modes=modes)

    def changed_files(self) -> list[str]:
        """Paths (relative to the project root) that differ from the base."""
        self._check_open()
        old, new = self._changes()
        return sorted(path for path in new if old.get(path) != new[path])

    def _check_open(self) -> None:
        if self.closed:
            raise PatchError("the workspace was already closed")

    def _changes(self) -> tuple[dict[str, str | None], dict[str, str | None]]:
        if self.mode == "copy":
            current = self._snapshot()
            paths = {
                p
                for p in set(current) | set(self._baseline)
                if current.get(p) != self._baseline.get(p)
            }
            old_bytes = {p: self._baseline.get(p) for p in paths}
            new_bytes = {p: current.get(p) for p in paths}
        else:
            paths = self._git_changed_paths()
            old_bytes = {p: self._base_blob(p) for p in paths}
            new_bytes = {p: self._read(p) for p in paths}
        return _decode_all(old_bytes), _decode_all(new_bytes)

    def _git_changed_paths(self) -> set[str]:
        tracked = _git(
            self.path,
            "diff",
            "--relative",
            "--name-only",
            "-z",
            "--no-renames",
            self.base_commit,
            "--",
            ".",
        )
        untracked = _git(self.path, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
        names = (tracked.stdout + untracked.stdout).decode("utf-8", errors="surrogateescape")
        return {name for name in names.split("\0") if name and not _excluded(name)}

    def _base_blob(self, rel: str) -> bytes | None:
        done = _git(self.path, "show", f"{self.base_commit}:./{rel}", check=False)
        return done.stdout if done.returncode == 0 else None

    def _read(self, rel: str) -> bytes | None:
        target = self.path / rel
        if target.is_symlink() or not target.is_file():
            return None
        return target.read_bytes()

    def _snapshot(self) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        for folder, dirs, names in os.walk(self.path):
            dirs[:] = [d for d in dirs if d not in EXCLUDED_DIRS]
            for name in names:
                full = Path(folder, name)
                rel = full.relative_to(self.path).as_posix()
                if not _excluded(rel) and not full.is_symlink() and full.is_file():
                    files[rel] = full.read_bytes()
        return files


def _decode_all(blobs: Mapping[str, bytes | None]) -> dict[str, str | None]:
    texts: dict[str, str | None] = {}
    for path, blob in blobs.items():
        try:
            texts[path] = None if blob is None else blob.decode("utf-8")
        except UnicodeDecodeError:
            raise PatchError(
                f"{path}: changed but is not UTF-8 text",
                hint="candidates may change text files only",
            ) from None
    return texts
