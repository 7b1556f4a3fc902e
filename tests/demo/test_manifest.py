"""An example's demo.json: validated with one-line errors; its services started and stopped."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from theseus.demo.live import demo_env
from theseus.demo.manifest import Service, load_manifest
from theseus.demo.services import env_file, running_services
from theseus.demo.workdir import example_names, find_example
from theseus.errors import DemoError


def test_every_bundled_example_has_a_valid_manifest() -> None:
    assert "support_agent" in example_names()
    for name in example_names():
        manifest = load_manifest(find_example(name))
        for bad in manifest.bad_candidates:
            text = bad.prepend + (find_example(name) / bad.file).read_text()
            assert all(r.old in text for r in bad.replace), (name, bad.why)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{", "Expecting property name"),
        ('{"services": [{"name": "Model!", "argv": ["x"]}]}', "services.0.name"),
        ('{"bad_candidates": [{"why": "x", "file": "a.py", "replace": []}]}', "bad_candidates.0"),
        ('{"colour": 1}', "colour"),
    ],
)
def test_a_malformed_manifest_is_one_line(tmp_path: Path, content: str, says: str) -> None:
    (tmp_path / "demo.json").write_text(content)
    with pytest.raises(DemoError) as bad:
        load_manifest(tmp_path)
    assert says in bad.value.line() and "\n" not in bad.value.line()


def test_a_service_runs_while_needed_and_gives_its_environment(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("model here")
    service = Service(
        name="model",
        argv=["{python}", "-m", "http.server", "--bind", "127.0.0.1", "{port}"],
        env={"OPENAI_BASE_URL": "http://127.0.0.1:{port}/v1"},
    )
    with running_services(tmp_path, [service], dict(os.environ)) as added:
        url = added["OPENAI_BASE_URL"]
        assert demo_env(tmp_path)["OPENAI_BASE_URL"] == url  # every child process gets it
        with urllib.request.urlopen(url.removesuffix("/v1") + "/index.html", timeout=5) as r:
            assert r.read() == b"model here"
        assert json.loads(env_file(tmp_path).read_text()) == added
    assert not env_file(tmp_path).exists()
    with pytest.raises(OSError):
        urllib.request.urlopen(url.removesuffix("/v1") + "/index.html", timeout=2)


def test_a_service_that_dies_at_start_is_one_line(tmp_path: Path) -> None:
    service = Service(name="model", argv=["{python}", "-c", "raise SystemExit('no model')"])
    with (
        pytest.raises(DemoError, match="the example's model service did not start: no model"),
        running_services(tmp_path, [service], dict(os.environ)),
    ):
        pass
