"""`theseus init`: write a commented starter theseus.toml into an existing agent project.

The required keys are guessed from the project (the package from pyproject.toml or the
folders, the entrypoint from the function decorated with ``@theseus.task``); every optional
section is written commented out with its defaults and descriptions, generated from the
pydantic models in config.py so the starter file can never drift from what is accepted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel

from theseus._atomic import write_text_atomic
from theseus.cli.output import console, emit, json_option
from theseus.config import CONFIG_FILE, Settings, load_settings
from theseus.errors import ConfigError

_SKIP_DIRS = {"tests", "test", "docs", "examples", "benchmarks", "build", "dist", "scripts"}
_TASK_DEF = re.compile(
    r"^@(?:theseus\.)?task\b[^\n]*\n(?:@[^\n]*\n)*(?:async\s+)?def\s+(\w+)", re.MULTILINE
)
_HANDLE_DEF = re.compile(r"^(?:async\s+)?def\s+handle\s*\(", re.MULTILINE)


def _packages(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(
        child.name
        for child in folder.iterdir()
        if child.is_dir()
        and (child / "__init__.py").is_file()
        and child.name.isidentifier()
        and child.name not in _SKIP_DIRS
        and not child.name.startswith((".", "_"))
    )


def guess_package(root: Path) -> tuple[str, str]:
    """(package, folder it lives in relative to root: "." or "src"); ConfigError if unsure."""
    named: str | None = None
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
            raw = project.get("name") if isinstance(project, dict) else None
            named = re.sub(r"[-.]+", "_", raw).lower() if isinstance(raw, str) else None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            named = None
    found = [(name, base) for base in (".", "src") for name in _packages(root / base)]
    for name, base in found:
        if name == named:
            return name, base
    if len(found) == 1:
        return found[0]
    with_tasks = [(n, b) for n, b in found if _entrypoints(root / b / n, n)]
    if len(with_tasks) == 1:
        return with_tasks[0]
    what = "several packages: " + ", ".join(n for n, _ in found) if found else "no package"
    raise ConfigError(
        f"cannot tell the agent's package in {root} ({what})", hint="pass --package NAME"
    )


def _entrypoints(package_dir: Path, package: str) -> list[str]:
    """``module:function`` of every @task function in the package, `handle` ones first."""
    found: list[str] = []
    handles: list[str] = []
    for file in sorted(package_dir.rglob("*.py")):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts = list(file.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        module = ".".join([package, *parts])
        found += [f"{module}:{name}" for name in _TASK_DEF.findall(text)]
        if _HANDLE_DEF.search(text):
            handles.append(f"{module}:handle")
    return sorted(found, key=lambda spec: not spec.endswith(":handle")) + handles


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)  # str, int, float and bool are spelled the same in TOML


def _defaults(model: type[BaseModel], prefix: str) -> list[str]:
    """The commented-out section ``prefix`` with every key at its default."""
    lines = ["", f"# [{prefix}]"]
    nested: list[str] = []
    for name, info in model.model_fields.items():
        default = info.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            nested += _defaults(type(default), f"{prefix}.{name}")
            continue
        note = f"  # {info.description}" if info.description else ""
        if default is None:
            lines.append(f"# {name} = ...  (unset by default){note}")
        else:
            lines.append(f"# {name} = {_toml(default)}{note}")
    return lines + nested


def starter_config(package: str, base: str, entrypoint: str | None) -> str:
    prefix = "" if base == "." else f"{base}/"
    entry_note = (
        "the function decorated with @theseus.task that serves one message"
        if entrypoint
        else "EDIT ME: the module:function that serves one message"
    )
    lines = [
        "# Theseus configuration for this agent, written by `theseus init`.",
        "# Every key is checked when Theseus loads this file: an unknown key, a wrong type or",
        "# a glob that matches no file is reported with one line naming it.",
        "",
        "[agent]",
        f"package = {_toml(package)}  # import name of the agent's package",
        f"entrypoint = {_toml(entrypoint or package + ':handle')}  # {entry_note}: (message, state) -> reply",
        f"python_path = {_toml([base])}  # folders put on sys.path, relative to this file",
        '# migrate = "module:function"  # optional: migrate(state, from_version, to_version) -> state',
        "",
        "[paths]",
        "# Globs relative to this folder (** = any number of folders).",
        f"mutable = {_toml([prefix + package + '/**/*.py'])}  # files a candidate patch may change",
        "# protected = []  # files no candidate may touch, even inside mutable",
        "# protected_signatures = []  # 'module:function' whose signature must stay as it is",
        "",
        "[tests]",
        f"command = {_toml(Settings.model_fields['tests'].get_default().command)}  # the project's own test suite",
        "",
        "# Optional sections, shown with their defaults: uncomment a line to change it.",
    ]
    for name, info in Settings.model_fields.items():
        if name in {"agent", "paths", "tests", "root"}:
            continue
        default = info.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            lines += _defaults(type(default), name)
    return "\n".join(lines) + "\n"


@click.command()
@click.option(
    "--project",
    "-p",
    type=click.Path(file_okay=False, exists=True),
    default=".",
    help="The agent's project folder (default: the current folder).",
)
@click.option("--package", default=None, help="The agent's package (default: guessed).")
@click.option(
    "--entrypoint", default=None, help="module:function serving one message (default: guessed)."
)
@click.option("--force", is_flag=True, help="Overwrite an existing theseus.toml.")
@json_option
def init(
    project: str, package: str | None, entrypoint: str | None, force: bool, as_json: bool
) -> None:
    """Write a commented starter theseus.toml into an existing agent project.

    The package and the entrypoint are guessed (pyproject.toml, the package folders, the
    function decorated with @theseus.task); check them, then run `theseus evidence list`.
    """
    root = Path(project).resolve()
    target = root / CONFIG_FILE
    if target.exists() and not force:
        raise ConfigError(f"{target} already exists", hint="pass --force to overwrite it")
    if package is None:
        package, base = guess_package(root)
    else:
        base = next((b for b in (".", "src") if (root / b / package).is_dir()), "")
        if not base:
            raise ConfigError(
                f"--package {package}: no folder {package}/ or src/{package}/ in {root}",
                hint="give the import name of the agent's package",
            )
    if entrypoint is None:
        found = _entrypoints(root / base / package, package)
        entrypoint = found[0] if found else None
    text = starter_config(package, base, entrypoint)
    fd, tmp = tempfile.mkstemp(prefix=".theseus.", suffix=".toml", dir=root)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        load_settings(Path(tmp))  # never leave a file behind that Theseus would reject
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    ignored = _ignore_state(root)
    git = _git_state(root)
    result = {"file": str(target), "package": package, "entrypoint": entrypoint,
              "gitignore": ignored, "git": git}  # fmt: skip

    def render() -> None:
        console.print(f"wrote {target}", highlight=False)
        if entrypoint is None:
            console.print(f"set agent.entrypoint: no @theseus.task function found in {package}")
        if ignored == "added":
            console.print("added .theseus/ to .gitignore (Theseus's own state, never committed)")
        if git != "ok":
            console.print(f"[yellow]git:[/] {git}", highlight=False)
        console.print("next: `theseus doctor` checks everything else", highlight=False)

    emit(result, as_json, render)


def _ignore_state(root: Path) -> str:
    """Make sure .gitignore keeps .theseus/ out of commits; 'added' or 'present'."""
    path = root / ".gitignore"
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    if any(line.strip().rstrip("/") in (".theseus", "/.theseus") for line in current.splitlines()):
        return "present"
    text = current + ("" if not current or current.endswith("\n") else "\n") + ".theseus/\n"
    write_text_atomic(path, text)
    return "added"


def _git_state(root: Path) -> str:
    """'ok', or what is missing before Theseus can keep versions as commits."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root,
                             capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
        if top.returncode != 0:
            return "not a git repository: run `git init`, then commit the agent"
        head = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=root,
                              capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "git is not installed: install it (every live version is a commit)"
    if head.returncode != 0:
        return "no commit yet: `git add -A && git commit` (theseus.toml and .gitignore too)"
    return "ok"
