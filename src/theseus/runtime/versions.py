"""Code versions: a git commit of the agent's repository, materialised read-only on disk.

A worker never runs the live working tree: it runs an exact commit, extracted with
``git archive`` into ``.theseus/versions/<commit>/``. That makes "which code answered this
request" a fact (the commit), lets two versions coexist during a swap, and makes rollback a
routing change: the old tree is still there, untouched.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from theseus.config import CONFIG_FILE, Settings
from theseus.errors import ConfigError, NotFound, TheseusError


@dataclass(frozen=True)
class VersionSpec:
    """Everything a worker needs to run one version."""

    commit: str
    root: Path = field(compare=False)
    entrypoint: str = field(compare=False)
    migrate: str | None = field(compare=False, default=None)
    python_path: tuple[str, ...] = field(compare=False, default=(".",))
    tree: Path | None = field(compare=False, default=None)  # the whole extracted commit

    @property
    def short(self) -> str:
        return self.commit[:12]


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError:
        raise TheseusError(
            "git is not installed", hint="install git; versions are commits"
        ) from None
    if done.returncode != 0:
        raise TheseusError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout.strip()


def repo_root(project: Path) -> Path:
    """The top of the git repository holding the agent project."""
    try:
        return Path(_git(project, "rev-parse", "--show-toplevel")).resolve()
    except TheseusError:
        raise ConfigError(
            f"{project} is not inside a git repository",
            hint="run `git init` and commit the agent: every live version is a commit",
        ) from None


def resolve_commit(project: Path, ref: str) -> str:
    """The full commit id for ``ref`` (a commit, tag, branch or HEAD~n); NotFound if none."""
    if not ref or ref.startswith("-") or any(c.isspace() for c in ref):
        raise NotFound(f"{ref!r} is not a git revision", hint="pass a commit id, tag or branch")
    try:
        return _git(project, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except TheseusError:
        raise NotFound(
            f"no commit {ref!r} in the agent repository",
            hint="check `git log`; deploy takes a commit id, tag or branch",
        ) from None


def _read_only(tree: Path) -> None:
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for folder, dirs, files in os.walk(tree):
        for name in [*files, *dirs]:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~write_bits)
    tree.chmod(tree.stat().st_mode & ~write_bits)


def materialise(settings: Settings, commit: str) -> VersionSpec:
    """Extract ``commit`` under .theseus/versions/ (once) and read its agent settings."""
    project = settings.root.resolve()
    top = repo_root(project)
    prefix = project.relative_to(top)
    store = settings.state_dir / "versions"
    target = store / commit
    if not target.is_dir():
        store.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{commit[:12]}-", dir=store))
        try:
            archive = scratch / "tree.tar"
            with archive.open("wb") as out:
                done = subprocess.run(
                    ["git", "archive", "--format=tar", commit], cwd=top, stdout=out, check=False
                )
            if done.returncode != 0:
                raise NotFound(
                    f"git archive {commit} failed", hint="is the commit in this repository?"
                )
            tree = scratch / "tree"
            with tarfile.open(archive) as tar:
                tar.extractall(tree, filter="data")
            archive.unlink()
            _read_only(tree)
            try:
                os.replace(tree, target)  # atomic: a half-extracted version is never visible
            except OSError:
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return replace(_spec(settings, commit, target / prefix), tree=target)


def _spec(settings: Settings, commit: str, root: Path) -> VersionSpec:
    """Agent settings as that commit has them (entrypoint may change between versions)."""
    agent = settings.agent
    config = root / CONFIG_FILE
    if config.is_file():
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8")).get("agent", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{CONFIG_FILE} of version {commit[:12]} is not valid TOML: {exc}"
            ) from None
        entrypoint = str(data.get("entrypoint", agent.entrypoint))
        migrate = data.get("migrate", agent.migrate)
        python_path = tuple(str(p) for p in data.get("python_path", agent.python_path))
    else:
        entrypoint, migrate, python_path = agent.entrypoint, agent.migrate, tuple(agent.python_path)
    return VersionSpec(
        commit=commit,
        root=root,
        entrypoint=entrypoint,
        migrate=str(migrate) if migrate else None,
        python_path=python_path,
    )
