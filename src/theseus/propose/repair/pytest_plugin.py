"""A pytest plugin the repair engine loads into the project's own test run.

It is copied next to the workspace and loaded with ``PYTEST_ADDOPTS=-p ...``, so it works
with whatever command the user gave (``pytest``, ``python -m pytest tests/``, ``make test``)
without changing it. It depends on pytest and, for coverage, coverage.py only: never on
Theseus, because the test interpreter may not have Theseus installed.

Environment (all optional except the output path):
  THESEUS_REPAIR_OUT       JSON file to write: outcomes, traceback frames, per-test lines
  THESEUS_REPAIR_COVER     os.pathsep-separated source files to measure per test
  THESEUS_REPAIR_SELECT    file of node ids (one a line): run only these, in that order
  THESEUS_REPAIR_FAILFAST  "1": stop the session at the first failing test

Per-test coverage uses coverage.py dynamic contexts: the context is switched to the node id
before each test, so one coverage session gives the lines each test executed.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

_STATE: dict[str, Any] = {"outcomes": {}, "frames": {}, "cov": None, "collected": 0}


def _rel(path: str) -> str:
    """Paths relative to the run's folder: the sandbox may mount the workspace anywhere."""
    here = os.getcwd()
    full = os.path.abspath(path)
    return os.path.relpath(full, here) if full.startswith(here + os.sep) else full


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("THESEUS_REPAIR_FAILFAST") == "1":
        config.option.maxfail = 1  # what `-x` sets: pytest stops after the first failure
    files = [f for f in os.environ.get("THESEUS_REPAIR_COVER", "").split(os.pathsep) if f]
    if not files:
        return
    try:
        import coverage
    except ImportError:  # no coverage in this interpreter: outcomes and frames still work
        return
    cov = coverage.Coverage(data_file=None, include=files, branch=False, config_file=False)
    cov.start()
    _STATE["cov"] = cov


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    select = os.environ.get("THESEUS_REPAIR_SELECT")
    if select:
        with open(select, encoding="utf-8") as handle:
            wanted = [line.strip() for line in handle if line.strip()]
        order = {nodeid: index for index, nodeid in enumerate(wanted)}
        kept = [item for item in items if item.nodeid in order]
        kept.sort(key=lambda item: order[item.nodeid])
        config.hook.pytest_deselected(items=[i for i in items if i.nodeid not in order])
        items[:] = kept
    _STATE["collected"] = len(items)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    cov = _STATE["cov"]
    if cov is not None:
        cov.switch_context(item.nodeid)
    yield
    if cov is not None:
        cov.switch_context("")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    outcomes: dict[str, str] = _STATE["outcomes"]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcomes[report.nodeid] = "skipped" if report.skipped else report.outcome


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if call.excinfo is not None and report.failed:
        frames = []
        for entry in call.excinfo.traceback:
            frames.append([_rel(str(entry.path)), entry.lineno + 1, entry.name])
        _STATE["frames"][item.nodeid] = frames


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    out = os.environ.get("THESEUS_REPAIR_OUT")
    if not out:
        return
    lines: dict[str, dict[str, list[int]]] = {}
    cov = _STATE["cov"]
    if cov is not None:
        cov.stop()
        data = cov.get_data()
        for path in data.measured_files():
            by_line = data.contexts_by_lineno(path)
            for lineno, contexts in by_line.items():
                for context in contexts:
                    if context:
                        lines.setdefault(context, {}).setdefault(_rel(path), []).append(lineno)
    result = {
        "collected": _STATE["collected"],
        "outcomes": _STATE["outcomes"],
        "frames": _STATE["frames"],
        "lines": lines,
        "exitstatus": int(exitstatus),
    }
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(tmp, out)
