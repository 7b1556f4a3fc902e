"""``ast.parse`` that is safe to call from several threads at once.

CPython before 3.13 keeps the AST converter's recursion counter in state that every thread
of the interpreter shares. When two threads parse at the same time (the GIL can pass between
them while the converter allocates), the counter is corrupted and a parse fails with
``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905 and its
relatives; seen in this project's CI). The repair search and the verification executor
parse candidates on worker threads, so every parse in Theseus goes through this one lock.
Parsing a module takes well under a millisecond, so the lock costs nothing that matters.
"""

from __future__ import annotations

import ast
import contextlib
import sys
import threading
from typing import Any, Literal, overload

__all__ = ["parse"]

_LOCK: contextlib.AbstractContextManager[Any] = (
    threading.Lock() if sys.version_info < (3, 13) else contextlib.nullcontext()
)


@overload
def parse(source: str, filename: str = ..., mode: Literal["exec"] = ...) -> ast.Module: ...
@overload
def parse(source: str, filename: str = ..., *, mode: Literal["eval"]) -> ast.Expression: ...


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    """``ast.parse(source, filename, mode)`` under the process-wide parse lock."""
    with _LOCK:
        return ast.parse(source, filename=filename, mode=mode)
