"""Which of the project's mutable functions one run executes: the raw material of a fingerprint.

Two wrong answers from the same entrypoint are the same bug only if they go wrong in the same
code. Re-running each reported input in the sandbox under this watch gives the set of mutable
functions (``path:function``) it ran; the curator compares those sets with the ones of calls
that went right (:mod:`theseus.evidence.curator`). ``sys.setprofile`` is used, as for
:class:`~theseus.oracles.returns.ReturnTypeWatch`, and only code objects whose file is in
``files`` are counted, so a run costs one dictionary lookup per call.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import CodeType, FrameType
from typing import Any

from theseus.oracles.profiling import ProfileWatch

__all__ = ["FunctionsRun"]


class FunctionsRun(ProfileWatch):
    """``with FunctionsRun(root, ["pkg/a.py", ...]) as run: call()`` then ``run.functions``."""

    def __init__(self, root: str, files: Iterable[str]) -> None:
        self._root = root
        self._files = {os.path.normpath(os.path.join(root, f)): f for f in files}
        self._seen: dict[CodeType, str] = {}
        self.functions: set[str] = set()

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        label = self._seen.get(code)
        if label is None:
            relpath = self._files.get(os.path.normpath(code.co_filename))
            name = code.co_qualname if hasattr(code, "co_qualname") else code.co_name
            label = "" if relpath is None or name == "<module>" else f"{relpath}:{name}"
            self._seen[code] = label
        if label:
            self.functions.add(label)
