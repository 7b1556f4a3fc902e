"""The one pytest plugin Theseus loads into a test run: verification's and the repair engine's.

It is copied into the workspace (:func:`theseus.verify.testrun.install_plugin`) and loaded
with ``-p`` (on the command line or in ``PYTEST_ADDOPTS``), so it works with whatever
command the user gave (``pytest``, ``python -m pytest tests/``, ``make test``) without
changing it. It depends on pytest and, for coverage, coverage.py only: never on Theseus,
because the sandboxed test interpreter may not have Theseus installed.

Environment (every part is optional; each turns one job on):
  THESEUS_REPORT_PATH      JSONL file: one line per test phase, flushed at once, so when the
                           sandbox kills pytest for a timeout or a crash, the lines written so
                           far still say which tests finished and which one was running
                           (verification reads it)
  THESEUS_REPORT_JSON      JSON file written at the end: outcomes, traceback frames and
                           per-test lines (the repair engine reads it)
  THESEUS_REPORT_COVER     os.pathsep-separated source files to measure per test
  THESEUS_REPORT_SELECT    file of node ids (one a line): run only these, in that order
  THESEUS_REPORT_FAILFAST  "1": stop the session at the first failing test

Per-test coverage uses coverage.py dynamic contexts: the context is switched to the node id
before each test, so one coverage session gives the lines each test executed.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

_STATE: dict[str, Any] = {}


def _event(event: dict[str, Any]) -> None:
    events = _STATE.get("events")
    if events:
        with open(events, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")
            handle.flush()


def _rel(path: str) -> str:
    """Paths relative to the run's folder: the sandbox may mount the workspace anywhere."""
    here = os.getcwd()
    full = os.path.abspath(path)
    return os.path.relpath(full, here) if full.startswith(here + os.sep) else full


def pytest_configure(config: pytest.Config) -> None:
    theseus_begin_trial(config)


def theseus_begin_trial(config: pytest.Config) -> None:
    """Start this run's state from the environment: at configure time, and again in each
    child of the warm trial server, which forks after configure with a trial's environment."""
    _STATE.update(
        outcomes={}, frames={}, cov=None, collected=0, events=os.environ.get("THESEUS_REPORT_PATH")
    )
    if os.environ.get("THESEUS_REPORT_FAILFAST") == "1":
        config.option.maxfail = 1  # what `-x` sets: pytest stops after the first failure
    files = [f for f in os.environ.get("THESEUS_REPORT_COVER", "").split(os.pathsep) if f]
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
    select = os.environ.get("THESEUS_REPORT_SELECT")
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


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _event({"event": "start", "nodeid": nodeid})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    outcomes: dict[str, str] = _STATE["outcomes"]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcomes[report.nodeid] = "skipped" if report.skipped else report.outcome
    if not _STATE.get("events"):
        return
    message = ""
    if report.failed:
        message = str(report.longreprtext)[-2000:]
    elif report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
    _event(
        {
            "event": "report",
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "xfail": hasattr(report, "wasxfail"),
            "duration": report.duration,
            "message": message,
        }
    )


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _event(
            {
                "event": "collect_error",
                "nodeid": report.nodeid,
                "message": str(report.longreprtext)[-2000:],
            }
        )


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
    _event({"event": "finish", "exitstatus": int(exitstatus)})
    out = os.environ.get("THESEUS_REPORT_JSON")
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
