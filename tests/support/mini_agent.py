"""The small agent project of tests/verify/_mini_agent.py, loaded once for every test module
that needs it (it is not importable as a package: tests import in importlib mode)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_NAME = "_verify_mini_agent"


def mini_agent() -> ModuleType:
    """The fixture module (make_project, add_batch, the candidate edits)."""
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    path = Path(__file__).parents[1] / "verify" / "_mini_agent.py"
    spec = importlib.util.spec_from_file_location(_NAME, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module
