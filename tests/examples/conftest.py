from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_agent"


@pytest.fixture(scope="module")
def example_on_path() -> Iterator[None]:
    """Import the example's packages in process with recording off, and leave no trace for
    other tests in the same worker (they run the example in subprocesses that inherit the
    environment)."""
    saved_env = os.environ.get("THESEUS_RECORD")
    saved_modules = set(sys.modules)
    os.environ["THESEUS_RECORD"] = "0"
    sys.path.insert(0, str(EXAMPLE))
    yield
    sys.path.remove(str(EXAMPLE))
    for name in set(sys.modules) - saved_modules:
        if name.split(".")[0] in {"traffic", "support_agent"}:
            del sys.modules[name]
    if saved_env is None:
        os.environ.pop("THESEUS_RECORD", None)
    else:
        os.environ["THESEUS_RECORD"] = saved_env
