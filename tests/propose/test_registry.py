"""Proposers by name: the built-in ones registered on import, one line for an unknown name,
a registered plugin built from config, and a proposer that cannot start skipped with a note."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from theseus.change import Candidate
from theseus.config import Settings, parse_settings
from theseus.errors import ConfigError, TheseusError
from theseus.propose import (
    ProposalContext,
    Proposer,
    RepairProposer,
    SharedResources,
    build_proposers,
    register_proposer,
    registered_proposers,
    registry,
    search_seconds,
)


def _settings(tmp_path: Path, proposers: list[str]) -> Settings:
    data = {
        "agent": {"entrypoint": "pkg.mod:handle", "package": "pkg"},
        "paths": {"mutable": ["pkg/**/*.py"]},
        "propose": {"proposers": proposers, "repair": {"max_seconds": 42.0}},
    }
    return parse_settings(data, root=tmp_path)


class _Echo:
    name = "echo-test"

    def propose(self, ctx: ProposalContext) -> Iterator[Candidate]:
        yield from ()


@pytest.fixture
def echo_registered() -> Iterator[None]:
    @register_proposer("echo-test", seconds=lambda settings: 7.5)
    def _factory(settings: Settings, shared: SharedResources) -> Proposer:
        return _Echo()

    yield
    registry._REGISTRY.pop("echo-test", None)


def test_the_built_in_proposers_are_registered() -> None:
    assert {"repair", "llm", "agent", "command"} <= set(registered_proposers())


def test_an_unknown_name_is_one_line_listing_the_known_ones(tmp_path: Path) -> None:
    settings = _settings(tmp_path, ["repair", "reapir"])
    with pytest.raises(ConfigError) as caught:
        build_proposers(settings, lambda line: None)
    line = caught.value.line()
    assert "'reapir'" in line and "repair" in line and "\n" not in line


def test_a_registered_plugin_is_built_with_its_own_time_allowance(
    tmp_path: Path, echo_registered: None
) -> None:
    settings = _settings(tmp_path, ["repair", "echo-test"])
    built = build_proposers(settings, lambda line: None)
    assert [p.name for p in built] == ["repair", "echo-test"]
    assert isinstance(built[0], RepairProposer)
    assert search_seconds(built[0], settings) == 42.0
    assert search_seconds(built[1], settings) == 7.5


def test_a_name_taken_twice_is_refused(echo_registered: None) -> None:
    with pytest.raises(ConfigError, match="two proposers"):

        @register_proposer("echo-test", seconds=lambda settings: 1.0)
        def _other(settings: Settings, shared: SharedResources) -> Proposer:
            return _Echo()


def test_a_proposer_that_cannot_start_is_skipped_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    notes: list[str] = []
    built = build_proposers(_settings(tmp_path, ["llm", "repair"]), notes.append)
    assert [p.name for p in built] == ["repair"]
    assert len(notes) == 1 and "'llm' skipped" in notes[0] and "OPENAI_API_KEY" in notes[0]


def test_shared_resources_make_each_thing_once(tmp_path: Path) -> None:
    shared = SharedResources(_settings(tmp_path, ["repair"]))
    made: list[int] = []

    def make() -> list[int]:
        made.append(1)
        return made

    assert shared.once("x", make) is shared.once("x", make)
    assert made == [1]


def test_errors_are_theseus_errors() -> None:
    assert issubclass(ConfigError, TheseusError)
