"""The optional parts say which extra to install, in one line, when it is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from theseus.cli.main import main
from theseus.config import LLMSettings
from theseus.propose.llm import LLMError
from theseus.propose.llm.providers import make_client


def test_serve_without_fastapi_and_uvicorn_names_the_serve_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what an absent package looks like
    with pytest.raises(SystemExit) as done:
        main(["serve", "--project", str(tmp_path)])
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert "needs FastAPI and uvicorn" in err and "theseus-evolve[serve]" in err
    assert "Traceback" not in err


def test_a_model_client_without_the_sdks_names_the_llm_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    monkeypatch.delitem(sys.modules, "theseus.propose.llm.openai_client", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    with pytest.raises(LLMError) as missing:
        make_client(LLMSettings(provider="openai", model="m"))
    assert missing.value.kind == "not_installed"
    assert "theseus-evolve[llm]" in missing.value.line()
