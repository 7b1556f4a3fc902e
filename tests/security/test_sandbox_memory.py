"""Memory a sandboxed run takes through a tmpfs is counted: filling /tmp past the run's
memory limit is stopped by the kernel at the run's limit, not at the host's."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from theseus.verify.sandbox import Limits, run_sandboxed
from theseus.verify.sandbox.backends import probe
from theseus.verify.sandbox.cgroup import cgroup_support

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not probe("bwrap").available, reason=probe("bwrap").reason),
    pytest.mark.skipif(not cgroup_support()[0], reason=cgroup_support()[1]),
]


def test_filling_tmp_counts_against_the_memory_limit(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    code = """
        with open("/tmp/fill", "wb") as handle:
            for _ in range(512):
                handle.write(b"x" * (1 << 20))
                handle.flush()
        print("FILLED 512 MB")
    """
    # /tmp may hold 1 GiB, but the whole run may use only 128 MB: the tmpfs pages count
    result = run_sandboxed(
        ["python", "-c", textwrap.dedent(code)], ws, Limits(timeout=60, memory_mb=128, tmp_mb=1024),
        backend="bwrap",
    )  # fmt: skip
    assert "FILLED" not in result.stdout
    assert not result.ok and result.reason is not None and "memory limit" in result.reason


def test_a_run_within_its_memory_limit_is_untouched(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    code = "open('/tmp/f', 'wb').write(b'x' * (8 << 20)); print('ok')"
    result = run_sandboxed(
        ["python", "-c", code], ws, Limits(timeout=60, memory_mb=256), backend="bwrap"
    )
    assert result.ok and result.stdout.strip() == "ok"
