"""The coding agent's hands: six tools bound to one workspace folder, and nothing outside it.

A model that may read, write and run commands is only safe when every path it names is
checked before it is touched. :class:`AgentTools` resolves each path against the workspace
and refuses absolute paths, ``..`` and symlinks that lead out; it writes only files the
project's :class:`~theseus.paths.PathRules` call mutable; and it runs commands through
:func:`~theseus.verify.sandbox.run_sandboxed` (no network, only the workspace writable, the
``[verify]`` memory/process/file limits, ``[propose.agent] command_timeout``). A refusal or
a failure is text the model reads as the tool's result, so it can correct itself; nothing
here raises into the agent loop. Every result is clipped to a bound so one ``cat`` of a
large file cannot blow the token budget.

Taking the diff back out (and undoing changes outside mutable files) is
:mod:`.workspace`'s job.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from theseus.change.workspace import EXCLUDED_DIRS, EXCLUDED_SUFFIXES
from theseus.config import Settings
from theseus.errors import TheseusError
from theseus.paths import PathRules
from theseus.propose.agent.workspace import (
    MAX_RESULT_CHARS,
    clip,
    describe_exit,
    restore_outside_mutable,
    run_in_sandbox,
)
from theseus.propose.llm.client import RAW_ARGUMENTS_KEY, ToolCall, ToolSpec

__all__ = [
    "FINISH",
    "MAX_RESULT_CHARS",
    "TOOL_SPECS",
    "AgentTools",
    "ToolResult",
    "clip",
    "describe_exit",
    "restore_outside_mutable",
    "run_in_sandbox",
]

MAX_VIEW_LINES = 400
MAX_LIST_ENTRIES = 400
FINISH = "finish"


@dataclass(frozen=True)
class ToolResult:
    """What one tool call gave back: the text the model sees, and whether it ended the run
    (``finish``, with the model's ``summary``)."""

    text: str
    ok: bool = True
    finished: bool = False
    summary: str = ""


class _Refused(Exception):
    """A call that cannot be carried out; its message goes back to the model."""


def _str(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


def _int(description: str) -> dict[str, str]:
    return {"type": "integer", "description": description}


def _tool(
    name: str,
    description: str,
    required: dict[str, dict[str, str]],
    optional: dict[str, dict[str, str]] | None = None,
) -> ToolSpec:
    schema = {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
    }
    return ToolSpec(name, description, schema)


_PATH = _str("relative to the project root, e.g. pkg/mod.py")
TOOL_SPECS: tuple[ToolSpec, ...] = (
    _tool(
        "list_files",
        "List the files under a folder of the project (default: all of it), one relative "
        "path a line; files you may change are marked '(editable)'.",
        {},
        {"path": _str("a folder relative to the project root")},
    ),
    _tool(
        "view_file",
        f"Show a text file with line numbers, at most {MAX_VIEW_LINES} lines at a time.",
        {"path": _PATH},
        {"start_line": _int("first line (1-based)"), "end_line": _int("last line, inclusive")},
    ),
    _tool(
        "edit_file",
        "Replace one exact piece of text in a file. `old` must occur exactly once (include "
        "enough surrounding lines); whitespace and indentation must match.",
        {"path": _PATH, "old": _str("the exact current text"), "new": _str("its replacement")},
    ),
    _tool(
        "create_file",
        "Write a whole file (created, or replaced when it exists).",
        {"path": _PATH, "content": _str("the complete new text")},
    ),
    _tool(
        "run_command",
        "Run a shell command in the project folder (no network access, time-limited); "
        "returns its exit status and output. Use it to run the tests.",
        {"command": _str("e.g. python -m pytest -q tests")},
    ),
    _tool(
        FINISH,
        "Call when your change is complete: the tests are run and, if they pass, the "
        "change is submitted. Give the root cause and the fix in a few sentences.",
        {},
        {"summary": _str("the root cause and the fix")},
    ),
)
_SPECS = {spec.name: spec for spec in TOOL_SPECS}


class AgentTools:
    """The tools of one agent run, confined to ``root``; :meth:`run` executes one call."""

    specs: tuple[ToolSpec, ...] = TOOL_SPECS

    def __init__(
        self,
        root: Path,
        rules: PathRules,
        settings: Settings,
        *,
        seconds_left: Callable[[], float] | None = None,
    ) -> None:
        self.root = root.resolve()
        self.rules = PathRules(root=self.root, mutable=rules.mutable, protected=rules.protected)
        self.settings = settings
        self._seconds_left = seconds_left
        self._handlers: dict[str, Callable[[dict[str, Any]], ToolResult]] = {
            "list_files": self._list_files,
            "view_file": self._view_file,
            "edit_file": self._edit_file,
            "create_file": self._create_file,
            "run_command": self._run_command,
            FINISH: self._finish,
        }

    def run(self, call: ToolCall) -> ToolResult:
        """Carry out ``call``; every refusal or failure is a result with ``ok=False``."""
        handler = self._handlers.get(call.name)
        if handler is None:
            known = ", ".join(self._handlers)
            return ToolResult(f"error: there is no tool {call.name!r}; use one of: {known}", False)
        try:
            return handler(_checked(_SPECS[call.name], call.arguments))
        except _Refused as exc:
            return ToolResult(f"error: {exc}", False)
        except OSError as exc:
            return ToolResult(f"error: {call.name} failed: {exc.strerror or exc}", False)

    # -- paths ------------------------------------------------------------------------------

    def resolve(self, path: str) -> tuple[Path, str]:
        """``(absolute path, path relative to the root)`` for a path the model gave; refuses
        anything that is or leads outside the workspace."""
        if not path.strip() or "\0" in path:
            raise _Refused("give a non-empty path relative to the project root, e.g. pkg/mod.py")
        pure = PurePosixPath(path.strip())
        if pure.is_absolute() or path.startswith("~"):
            raise _Refused(
                f"{path}: absolute paths are not allowed; use a path relative to the "
                "project root, e.g. pkg/mod.py"
            )
        if ".." in pure.parts:
            raise _Refused(f"{path}: '..' is not allowed; paths must stay inside the project")
        if ".git" in pure.parts:
            raise _Refused(f"{path}: the .git folder is off limits")
        try:
            full = (self.root / pure).resolve()
        except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
            raise _Refused(f"{path}: cannot be resolved (a symlink loop?)") from None
        if not full.is_relative_to(self.root):
            raise _Refused(f"{path}: leads outside the project (through a symlink); refused")
        rel = full.relative_to(self.root).as_posix()
        return full, "." if rel in ("", ".") else rel

    def _writable(self, path: str) -> tuple[Path, str]:
        full, rel = self.resolve(path)
        if full.is_dir():
            raise _Refused(f"{rel} is a folder, not a file")
        given = PurePosixPath(path.strip()).as_posix()
        for name in dict.fromkeys((given, rel)):
            if self.rules.is_protected(name):
                raise _Refused(f"{name} is protected by the project's policy; change other files")
            if not self.rules.is_mutable(name):
                allowed = ", ".join(self.rules.mutable)
                raise _Refused(f"{name} may not be changed; the policy allows only: {allowed}")
        return full, rel

    # -- the tools --------------------------------------------------------------------------

    def _list_files(self, args: dict[str, Any]) -> ToolResult:
        full, rel = self.resolve(args.get("path") or ".")
        if not full.is_dir():
            raise _Refused(f"{rel} is not a folder; use view_file for files")
        entries: list[str] = []
        total = 0
        for folder, dirs, names in os.walk(full):
            dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS)
            for name in sorted(names):
                if name.endswith(EXCLUDED_SUFFIXES):
                    continue
                item = Path(folder, name).relative_to(self.root).as_posix()
                total += 1
                if len(entries) < MAX_LIST_ENTRIES:
                    mark = " (editable)" if self.rules.is_mutable(item) else ""
                    entries.append(item + mark)
        if total > len(entries):
            entries.append(f"[... {total - len(entries)} more files; list a sub-folder]")
        return ToolResult("\n".join(entries) if entries else f"{rel} holds no files")

    def _view_file(self, args: dict[str, Any]) -> ToolResult:
        start, end = args.get("start_line"), args.get("end_line")
        full, rel = self.resolve(args["path"])
        if not full.is_file():
            raise _Refused(f"{rel} is not a file (list_files shows what exists)")
        try:
            lines = full.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise _Refused(f"{rel} is not a UTF-8 text file") from None
        first = max(1, start or 1)
        last = min(len(lines), end or len(lines), first + MAX_VIEW_LINES - 1)
        if lines and first > len(lines):
            raise _Refused(f"{rel} has only {len(lines)} lines")
        if end is not None and end < first:
            raise _Refused(f"end_line {end} is before start_line {first}")
        body = "\n".join(f"{n:>5}  {lines[n - 1]}" for n in range(first, last + 1))
        more = ""
        if last < len(lines) and (end is None or last < end):
            more = f"\n[lines {last + 1}-{len(lines)} not shown; use start_line={last + 1}]"
        header = f"{rel} (lines {first}-{last} of {len(lines)})\n" if lines else f"{rel} is empty"
        return ToolResult(clip(header + body + more))

    def _edit_file(self, args: dict[str, Any]) -> ToolResult:
        old, new = args["old"], args["new"]
        full, rel = self._writable(args["path"])
        if not full.is_file():
            raise _Refused(f"{rel} does not exist; use create_file to make a new file")
        if not old:
            raise _Refused("`old` is empty; copy the exact lines to replace from view_file")
        try:
            text = full.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise _Refused(f"{rel} is not a UTF-8 text file") from None
        count = text.count(old)
        if count == 0:
            raise _Refused(
                f"`old` does not occur in {rel}; view the file and copy the exact text "
                "(whitespace and indentation matter)"
            )
        if count > 1:
            raise _Refused(
                f"`old` occurs {count} times in {rel}; add surrounding lines so it matches once"
            )
        at = text.index(old)
        full.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")
        first = text.count("\n", 0, at) + 1
        last = first + max(new.count("\n") - (1 if new.endswith("\n") else 0), 0)
        return ToolResult(f"edited {rel}: the text now at lines {first}-{last} was replaced")

    def _create_file(self, args: dict[str, Any]) -> ToolResult:
        content = args["content"]
        full, rel = self._writable(args["path"])
        existed = full.exists()
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(content, encoding="utf-8")
        verb = "replaced" if existed else "created"
        return ToolResult(f"{verb} {rel} ({len(content.splitlines())} lines)")

    def _run_command(self, args: dict[str, Any]) -> ToolResult:
        command = args["command"]
        if not command.strip():
            raise _Refused("`command` is empty")
        timeout = self.settings.propose.agent.command_timeout
        if self._seconds_left is not None:
            timeout = min(timeout, max(self._seconds_left(), 1.0))
        try:
            code, output, reason = run_in_sandbox(command, self.root, self.settings, timeout)
        except TheseusError as exc:
            return ToolResult(f"error: the command could not run: {exc.line()}", False)
        status = describe_exit(code, reason)
        return ToolResult(clip(f"{status}\n{output}" if output else status), code == 0)

    def _finish(self, args: dict[str, Any]) -> ToolResult:
        return ToolResult("", finished=True, summary=(args.get("summary") or "").strip())


_KINDS: dict[str, tuple[type, str]] = {"string": (str, "a string"), "integer": (int, "an integer")}


def _checked(spec: ToolSpec, args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` checked against the tool's schema (integers given as digit strings are
    taken); refuses missing, unknown or mistyped ones, and arguments that were not JSON."""
    if RAW_ARGUMENTS_KEY in args and len(args) == 1:
        raw = clip(str(args[RAW_ARGUMENTS_KEY]), 200)
        raise _Refused(f"the arguments are not a JSON object: {raw!r}; send valid JSON")
    properties: dict[str, dict[str, str]] = spec.parameters["properties"]
    unknown = sorted(set(args) - set(properties))
    if unknown:
        allowed = ", ".join(properties) or "none"
        raise _Refused(f"unknown argument(s) {', '.join(unknown)}; allowed: {allowed}")
    checked: dict[str, Any] = {}
    for name, schema in properties.items():
        kind, words = _KINDS[schema["type"]]
        value = args.get(name)
        if value is None:
            if name in spec.parameters["required"]:
                raise _Refused(f"missing argument `{name}` ({words})")
            continue
        if kind is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _Refused(f"argument `{name}` must be {words}")
        checked[name] = value
    return checked
