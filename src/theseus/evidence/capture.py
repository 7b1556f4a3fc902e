"""What the SDK captures around a call: the project it belongs to, the code version, and an
exception turned into frames the curator and the proposers can point at.

Everything here is computed once per process or per function where it can be (the project
root of a function, the git commit), because it runs inside the agent's hot path.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tomllib
import traceback
from functools import lru_cache
from pathlib import Path
from types import TracebackType

from theseus.config import CONFIG_FILE
from theseus.evidence.records import ErrorInfo, Frame
from theseus.paths import DEFAULT_EVIDENCE_STORE

DEFAULT_STORE = DEFAULT_EVIDENCE_STORE
_SDK_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk.py")


@lru_cache(maxsize=256)
def project_for(folder: str) -> tuple[Path, str] | None:
    """(root, [evidence].store) of the nearest theseus.toml / [tool.theseus] at or above
    ``folder``, or None. Only the one key is read, without full validation: a config problem
    must surface in the CLI, never as a failure inside the agent's call."""
    start = Path(folder).resolve()
    for candidate in [start, *start.parents]:
        for name in (CONFIG_FILE, "pyproject.toml"):
            file = candidate / name
            if not file.is_file():
                continue
            try:
                data = tomllib.loads(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                data = {}
            if name == "pyproject.toml":
                tool = data.get("tool")
                if not (isinstance(tool, dict) and isinstance(tool.get("theseus"), dict)):
                    continue
                data = tool["theseus"]
            section = data.get("evidence")
            store = section.get("store") if isinstance(section, dict) else None
            return candidate, store if isinstance(store, str) and store else DEFAULT_STORE
    return None


@lru_cache(maxsize=64)
def _git_head(root: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    head = done.stdout.strip()
    return head if done.returncode == 0 and head else None


def code_version(root: Path | None) -> str | None:
    """THESEUS_CODE_VERSION (the runtime sets it per worker), else the git HEAD of the project,
    looked up once per process; None outside git."""
    env = os.environ.get("THESEUS_CODE_VERSION")
    if env:
        return env
    return _git_head(str(root) if root is not None else os.getcwd())


def error_info(exc: BaseException, root: Path | None) -> ErrorInfo:
    """The exception with its frames outermost first, the SDK's own wrapper frames left out."""
    frames = [
        _frame(summary, root)
        for summary in traceback.extract_tb(exc.__traceback__)
        if os.path.abspath(summary.filename) != _SDK_FILE
    ]
    return ErrorInfo(
        type=qualified_type(type(exc)),
        message=_message(exc),
        frames=frames,
        traceback=plain_traceback(exc, _tb_without_sdk(exc)),
    )


def plain_traceback(exc: BaseException, tb: TracebackType | None) -> str:
    """The standard traceback text, chained exceptions included, without the ``^^^`` caret
    lines: Python 3.11 finds those by re-parsing every frame's source line with ``ast``, which
    costs more than a typical agent call, and the frames' lines already say where it was."""
    top = traceback.TracebackException(type(exc), exc, tb)
    todo, seen = [top], set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for frame in current.stack:
            frame.colno = frame.end_colno = None
        todo += [t for t in (current.__cause__, current.__context__) if t is not None]
        todo += list(getattr(current, "exceptions", None) or [])
    return "".join(top.format())


def qualified_type(kind: type[BaseException]) -> str:
    """'KeyError' for builtins, 'package.module.Name' for anything else."""
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not break the agent's call
        return "<str() failed>"


def _frame(summary: traceback.FrameSummary, root: Path | None) -> Frame:
    file = summary.filename
    if root is not None:
        with contextlib.suppress(ValueError, OSError):
            file = Path(file).resolve().relative_to(root).as_posix()
    return Frame(
        file=file, line=summary.lineno or 0, function=summary.name, code=summary.line or ""
    )


def _tb_without_sdk(exc: BaseException) -> TracebackType | None:
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == _SDK_FILE:
        tb = tb.tb_next
    return tb
