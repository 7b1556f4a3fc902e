"""The example travel agent: a real model server, the real openai SDK, real seeded bugs.

In process: the stand-in model (``model_server``) on a free port, the official ``openai``
client pointed at it through ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``, and the agent's
``handle`` answering whole conversations. In subprocesses, in copies of the example (the
repository's own example is never modified): the traffic exposes every seeded bug, each
documented fix removes exactly its bug's failures and keeps the agent's own suite passing,
and with every fix the traffic finds nothing wrong. Each fix is also checked to be an edit
the repair engine makes, at the bug's line.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from theseus.config import load_callable, load_settings
from theseus.paths import rules_from
from theseus.propose.repair.edit import Editor
from theseus.propose.repair.mutants import changes_at

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "travel_agent"
BUGS: list[dict[str, str]] = json.loads((EXAMPLE / "seeded_bugs.json").read_text())
SESSIONS, SEED = 40, 7
PACKAGES = {"travel_agent", "model_server"}
MODEL_ENV = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "THESEUS_RECORD")


def _symptom(bug: dict[str, str]) -> str:
    symptom = bug["symptom"]
    return symptom if symptom.startswith("wrong_") else f"error:{symptom}"


def _copy(tmp_path: Path, name: str = "agent") -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("__pycache__", ".theseus"))
    return target


def _apply(folder: Path, bugs: list[dict[str, str]]) -> None:
    for bug in bugs:
        path = folder / bug["file"]
        text = path.read_text()
        assert text.count(bug["original"]) == 1, bug["id"]
        path.write_text(text.replace(bug["original"], bug["fixed"]))


def _env() -> dict[str, str]:
    env = dict(os.environ, THESEUS_RECORD="0", PYTHONDONTWRITEBYTECODE="1")
    for name in ("PYTHONPATH", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        env.pop(name, None)
    return env


def _traffic(folder: Path) -> dict[str, Any]:
    argv = [sys.executable, "-m", "traffic", "--sessions", str(SESSIONS), "--seed", str(SEED)]
    done = subprocess.run(
        [*argv, "--json", "--no-report"],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome: dict[str, Any] = json.loads(done.stdout)
    return outcome


def _own_suite(folder: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]


def _function_source(text: str, name: str) -> str:
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return "".join(text.splitlines(keepends=True)[node.lineno - 1 : node.end_lineno])
    raise AssertionError(f"no function {name}")


# --- in process: the real model server and the real SDK --------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[Any]:
    """The example importable, the stand-in model on a free port, the agent's client pointed
    at it; everything (modules, environment) put back afterwards."""
    saved_env = {name: os.environ.get(name) for name in MODEL_ENV}
    saved_modules = set(sys.modules)
    sys.path.insert(0, str(EXAMPLE))
    from model_server import base_url, serve
    from travel_agent import model

    server, thread = serve(0, api_key="test-key")
    os.environ.update(
        OPENAI_BASE_URL=base_url(server), OPENAI_API_KEY="test-key", THESEUS_RECORD="0"
    )
    model.use_client(None)
    yield server
    model.use_client(None)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    sys.path.remove(str(EXAMPLE))
    for name in set(sys.modules) - saved_modules:
        if name.split(".")[0] in PACKAGES:
            del sys.modules[name]
    for name, value in saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _conversation(texts: list[str], day: str = "2024-06-28") -> list[dict[str, Any]]:
    from travel_agent.app import handle

    state: dict[str, Any] = {}
    return [handle({"text": text, "date": day}, state) for text in texts]


def test_flight_then_a_hotel_there_through_the_real_sdk(served: Any) -> None:
    hello, flight, hotel = _conversation(
        [
            "Hello!",
            "Find me a flight from Lisbon to Madrid on 3 July 2024 for 2 passengers in USD",
            "I'll also need a hotel there for 3 nights.",
        ]
    )
    assert hello["intent"] == "chat" and "flights" in hello["text"]
    assert flight["data"] == {
        "origin": "LIS",
        "destination": "MAD",
        "date": "2024-07-03",
        "passengers": 2,
        "flights": ["TA216", "TA205", "TA209"],
        "cheapest": "TA216",
        "total": 16200,
        "currency": "USD",
    }
    assert hotel["intent"] == "hotel_quote"
    assert (hotel["data"]["city"], hotel["data"]["check_in"]) == ("MAD", "2024-07-03")
    assert (hotel["data"]["nights"], hotel["data"]["total"]) == (3, 19200)


def test_bookings_and_loyalty_through_the_real_sdk(served: Any) -> None:
    status, points, stranger, chat = _conversation(
        [
            "What's the status of booking BK2004?",
            "My loyalty number is TL-1001, how many points do I have?",
            "loyalty balance for tl 1099 please",
            "Do you do car rentals?",
        ]
    )
    assert status["data"] == {
        "ref": "BK2004",
        "kind": "hotel",
        "starts": "2024-07-08",
        "status": "confirmed",
    }
    assert points["data"] == {"loyalty_id": "TL-1001", "tier": "gold", "points": 42046}
    assert stranger["intent"] == "unknown_member"
    assert chat["intent"] == "chat"


def test_seeded_bugs_show_in_process(served: Any) -> None:
    """What the traffic will find, seen directly: one night too many, and a cancel answered
    with the booking's status."""
    hotel, cancel = _conversation(
        ["I need a hotel in Madrid from 2024-07-03 to 2024-07-06.", "Please cancel BK2004"]
    )
    assert hotel["data"]["nights"] == 4
    assert cancel["intent"] == "booking_status"


def test_the_model_refuses_a_wrong_key(served: Any) -> None:
    import openai
    from model_server import base_url
    from travel_agent import model

    client = openai.OpenAI(api_key="wrong", base_url=base_url(served), max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(**model.request("hi"))


# --- the configuration and the manifest ------------------------------------------------------


def test_config_splits_mutable_from_protected() -> None:
    settings = load_settings(EXAMPLE / "theseus.toml")
    rules = rules_from(settings.root, settings.paths.mutable, settings.paths.protected)
    assert set(rules.mutable_files()) == {
        "travel_agent/router.py",
        "travel_agent/session.py",
        *(f"travel_agent/tools/{name}.py" for name in ["__init__", "bookings", "data"]),
        *(f"travel_agent/tools/{name}.py" for name in ["flights", "hotels", "loyalty"]),
    }
    for protected in [
        "travel_agent/app.py",
        "travel_agent/model.py",
        "travel_agent/replies.py",
        "travel_agent/data/flights.json",
        "model_server/rules.py",
        "tests/test_router.py",
        "traffic/oracle.py",
    ]:
        assert rules.is_protected(protected), protected
    assert settings.replay.unrecorded == "fail"
    assert settings.runtime.port not in (8700, 8711)
    assert settings.agent.migrate is not None
    handle = load_callable(settings.agent.entrypoint, settings.root, settings.agent.python_path)
    assert callable(handle)


def test_seeded_bugs_manifest_is_sound() -> None:
    settings = load_settings(EXAMPLE / "theseus.toml")
    rules = rules_from(settings.root, settings.paths.mutable, settings.paths.protected)
    keys = {"id", "kind", "file", "function", "original", "fixed", "symptom", "trigger"}
    assert len(BUGS) == 5
    for bug in BUGS:
        assert set(bug) == keys, bug["id"]
        text = (EXAMPLE / bug["file"]).read_text()
        assert rules.is_mutable(bug["file"]), bug["id"]
        assert text.count(bug["original"]) == 1, bug["id"]
        body = _function_source(text, bug["function"])
        assert bug["original"] in body, f"{bug['id']}: the bug is not in {bug['function']}"
        assert bug["fixed"] not in body, f"{bug['id']}: the fix is already in the shipped code"
    assert len({_symptom(bug) for bug in BUGS}) == len(BUGS), "one symptom per bug"


@pytest.mark.parametrize("bug", BUGS, ids=[bug["id"] for bug in BUGS])
def test_each_fix_is_an_edit_the_repair_engine_makes(bug: dict[str, str]) -> None:
    text = (EXAMPLE / bug["file"]).read_text()
    fixed = text.replace(bug["original"], bug["fixed"])
    original, wanted = bug["original"].splitlines(), bug["fixed"].splitlines()
    differs = next(i for i, (a, b) in enumerate(zip(original, wanted, strict=False)) if a != b)
    line = text[: text.index(bug["original"])].count("\n") + 1 + differs
    changes = changes_at(Editor(bug["file"], text), line)
    assert fixed in {change.new_source for change in changes}, bug["id"]


# --- in copies, in subprocesses: the traffic and the fixes -----------------------------------


@pytest.mark.e2e
def test_traffic_triggers_every_seeded_bug_the_suite_misses(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _own_suite(folder)
    outcome = _traffic(folder)
    assert set(outcome["failures"]) == {_symptom(bug) for bug in BUGS}, outcome["failures"]
    for bug in BUGS:
        assert outcome["failures"][_symptom(bug)] >= 2, (bug["id"], outcome["failures"])
    assert outcome["checked"] > 0.8 * outcome["requests"]


@pytest.mark.e2e
@pytest.mark.parametrize("bug", BUGS, ids=[bug["id"] for bug in BUGS])
def test_each_fix_removes_its_failures_and_keeps_the_suite_green(
    tmp_path: Path, bug: dict[str, str]
) -> None:
    folder = _copy(tmp_path)
    _apply(folder, [bug])
    outcome = _traffic(folder)
    others = {_symptom(other) for other in BUGS if other is not bug}
    assert _symptom(bug) not in outcome["failures"], outcome["failures"]
    assert set(outcome["failures"]) == others, outcome["failures"]
    _own_suite(folder)


@pytest.mark.e2e
def test_with_every_fix_the_traffic_finds_nothing_wrong(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _apply(folder, BUGS)
    outcome = _traffic(folder)
    assert outcome["exceptions"] == 0 and outcome["wrong_answers"] == 0, outcome["failures"]
    assert outcome["checked"] > 0.9 * outcome["requests"]
