"""Fixtures for the evidence tests: a small real agent project on disk, a clean SDK."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from theseus.evidence import sdk

CONFIG = """\
[agent]
package = "agentpkg"
entrypoint = "agentpkg.core:handle"

[paths]
mutable = ["agentpkg/**/*.py"]
protected = ["agentpkg/protected.py"]
"""


@pytest.fixture(autouse=True)
def clean_sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("THESEUS_EVIDENCE_DB", "THESEUS_RECORD", "THESEUS_CODE_VERSION"):
        monkeypatch.delenv(name, raising=False)
    sdk._reset_for_tests()
    yield
    sdk._reset_for_tests()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "agentpkg").mkdir(parents=True)
    (root / "theseus.toml").write_text(CONFIG)
    (root / "agentpkg" / "__init__.py").write_text("")
    (root / "agentpkg" / "protected.py").write_text("X = 1\n")
    return root


def load_module(root: Path, relpath: str, source: str) -> ModuleType:
    """Write ``source`` to root/relpath and import it under a unique module name."""
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    name = f"agentmod_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
