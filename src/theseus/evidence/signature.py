"""Failure signatures: which failures are "the same bug".

Two failures share a signature when a fix for one is likely to fix the other:

- an exception: its type + the innermost frame inside the *mutable* code (``path:function``,
  no line number, so an edit above the bug does not split a batch) + its message with the
  parts that vary per call (numbers, hex and uuid ids, quoted values) replaced by
  placeholders;
- a semantic failure (``report_failure`` on a call that returned): the declared kind + the
  recorded function + where its run diverged from the calls that went right (the mutable
  functions particular to its path, :mod:`.divergence`), when that is known; two unrelated
  wrong answers behind one entrypoint then land in two batches.

The signature id is a short hash of that canonical text, stable across machines and runs, so
candidates, budgets and the audit log can refer to a batch by it.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from theseus.evidence.records import FailureReport, Frame, TaskRecord
from theseus.paths import PathRules

MAX_MESSAGE = 160

_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_HEX = re.compile(
    r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"
)
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
_SPACE = re.compile(r"\s+")


class Signature(NamedTuple):
    """What ``signature_for`` returns: a 3-tuple (id, title, location).

    ``id``: 12 hex digits, the batch key. ``title``: the canonical text, one readable line
    (``KeyError in support_agent/skills/orders.py:lookup: <str>``). ``location``: the
    innermost mutable frame as ``path:function``, None for semantic failures or when no
    frame lies in mutable code.
    """

    id: str
    title: str
    location: str | None


def normalise_message(message: str) -> str:
    """The message with per-call values replaced: ``<str>``, ``<id>``, ``<hex>``, ``<num>``.

    Idempotent, and two messages that differ only in such values normalise equally.
    """
    # whitespace first: a quoted value broken over lines ("'\n'") is one value once its
    # line break is a space, and would otherwise become one only on a second pass
    text = _QUOTED.sub("<str>", _SPACE.sub(" ", message))
    text = _UUID.sub("<id>", text)
    text = _HEX.sub("<hex>", text)
    text = _NUMBER.sub("<num>", text)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def innermost_mutable(frames: list[Frame], rules: PathRules) -> Frame | None:
    """The deepest frame whose file the candidates may change; the fix most likely goes there."""
    for frame in reversed(frames):
        if rules.is_mutable(frame.file):
            return frame
    return None


MAX_TITLE_FUNCTIONS = 3


def signature_for(
    record: TaskRecord,
    report: FailureReport | None,
    rules: PathRules,
    path: str | None = None,
) -> Signature:
    """The signature of one failure: the task's exception if it raised, else the report's kind.

    A report on a task that raised does not change its signature (the exception is the more
    precise description); it may still change its severity and oracle (see the curator).
    ``path`` is a semantic failure's divergence label (None: not known, not split).
    """
    if record.error is not None:
        error = record.error
        frame = innermost_mutable(error.frames, rules)
        location = f"{frame.file}:{frame.function}" if frame is not None else None
        where = location
        if where is None:
            last = error.frames[-1] if error.frames else None
            where = (
                f"{last.file}:{last.function} (outside mutable code)" if last else record.function
            )
        message = normalise_message(error.message)
        title = f"{error.type} in {where}" + (f": {message}" if message else "")
        return Signature(_digest("exception", title), title, location)
    kind = report.kind if report is not None else "unknown"
    title = f"{kind} from {record.function}"
    if path is None:
        return Signature(_digest("semantic", title), title, None)
    functions = [f for f in path.split(", ") if f]
    shown = ", ".join(functions[:MAX_TITLE_FUNCTIONS]) or "only the code every call runs"
    if len(functions) > MAX_TITLE_FUNCTIONS:
        shown += f" +{len(functions) - MAX_TITLE_FUNCTIONS}"
    return Signature(_digest("semantic", f"{title} via {path}"), f"{title} via {shown}", None)


def _digest(kind: str, text: str) -> str:
    return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()[:12]
