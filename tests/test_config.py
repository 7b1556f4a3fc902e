"""config.py: every bad-input path ends in one ConfigError line naming the key and the fix."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from theseus.config import (
    CONFIG_FILE,
    find_config,
    load_callable,
    load_settings,
    parse_settings,
)
from theseus.errors import ConfigError

GOOD = """\
[agent]
package = "bot"
entrypoint = "bot.main:handle"

[paths]
mutable = ["bot/**/*.py"]
protected = ["bot/main.py"]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "bot" / "main.py").write_text(
        "def handle(message, state):\n    return message\nVALUE = 3\n"
    )
    (tmp_path / CONFIG_FILE).write_text(GOOD)
    return tmp_path


def write(root: Path, text: str) -> Path:
    (root / CONFIG_FILE).write_text(text)
    return root / CONFIG_FILE


def test_good_config_loads_with_defaults(root: Path) -> None:
    settings = load_settings(root / CONFIG_FILE)
    assert settings.root == root.resolve()
    assert settings.agent.entrypoint == "bot.main:handle"
    assert settings.replay.max_cases == 20 and settings.evidence.exception_severity == "high"
    assert settings.evidence_path == root.resolve() / ".theseus" / "evidence.db"
    assert load_settings(root).root == settings.root  # a folder is searched


def test_found_from_a_subfolder(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root / "bot")
    assert load_settings().root == root.resolve()
    assert find_config(root / "bot") == (root / CONFIG_FILE).resolve()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("colour = 1\n", "unknown key 'colour'"),
        (
            "[replay]\nmax_casez = 3\n",
            "unknown key 'replay.max_casez' (remove it or check the spelling",
        ),
        (
            "[propose.repair]\nmax_candidates = 0\n",
            "key 'propose.repair.max_candidates': Input should be greater than or equal to 1, got 0",
        ),
        (
            '[replay]\nmax_cases = "many"\n',
            "key 'replay.max_cases': Input should be a valid integer",
        ),
        ('[evidence]\nmin_severity = "urgent"\n', "key 'evidence.min_severity'"),
        ('[gate]\nconsent = "sometimes"\n', "key 'gate.consent'"),
        ('[propose]\nproposers = ["Oracle!"]\n', "key 'propose.proposers.0'"),
        ("runtime = 3\n", "key 'runtime'"),
        (
            '[propose.llm]\nbase_url = "localhost:11434"\n',
            "key 'propose.llm.base_url': Value error, [propose.llm] base_url does not start with",
        ),
        (
            "[propose.llm]\nprices = {input = 1.0, outptu = 2.0}\n",
            "prices has unknown key(s): outptu (use only 'input' and 'output'",
        ),
        ("[propose.llm]\nprices = {input = -1.0}\n", "prices.input = -1.0 is not a price"),
        ('[lineage]\nbranch = "fixes..old"\n', "is not a usable git branch name"),
        ('[lineage]\nbranch = "-evil"\n', "is not a usable git branch name"),
        ('[replay]\nunrecorded = "forward"\n', "needs forward_url"),
        ('[replay]\nholdout_share = 0.9\n', "key 'replay.holdout_share'"),
    ],
)
def test_bad_keys_and_types(root: Path, extra: str, message: str) -> None:
    text = GOOD if not extra.startswith(("colour", "runtime")) else extra + GOOD
    if text is GOOD:
        text = GOOD + "\n" + extra
    path = write(root, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    line = str(caught.value)
    assert message in line and "\n" not in line and line.startswith(CONFIG_FILE)


def test_bad_base_url_error_does_not_echo_credentials(root: Path) -> None:
    url = "http://me:hunter2@example.com:99999/v1?key=sk-secret"
    path = write(root, GOOD + f'\n[propose.llm]\nbase_url = "{url}"\n')
    with pytest.raises(ConfigError, match="invalid port") as caught:
        load_settings(path)
    assert "hunter2" not in str(caught.value) and "sk-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[agent]\npackage = "bot"\n[paths]\nmutable = ["bot/*.py"]\n',
            "required key 'agent.entrypoint' is missing",
        ),
        (
            '[agent]\npackage = "bot"\nentrypoint = "bot.main:handle"\n',
            "required key 'paths' is missing",
        ),
        (
            '[agent]\npackage = "bot"\nentrypoint = "bot.main"\n[paths]\nmutable = ["bot/*.py"]\n',
            "is not of the form 'module:callable'",
        ),
        (
            '[agent]\npackage = "bot"\nentrypoint = "x:y"\nmigrate = ":f"\n[paths]\nmutable = ["bot/*.py"]\n',
            "key 'agent.migrate'",
        ),
        (
            '[agent]\npackage = "bot"\nentrypoint = "x:y"\n[paths]\nmutable = []\n',
            "key 'paths.mutable'",
        ),
    ],
)
def test_missing_and_malformed_values(root: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(write(root, text))


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("bot/**/*.pyx", "glob 'bot/**/*.pyx' matches no file"),
        ("/etc/*.conf", "must be a non-empty path inside the project"),
        ("", "must be a non-empty path inside the project"),
        ("../*/bot/*.py", "must be a non-empty path inside the project"),
    ],
)
def test_globs_that_match_nothing_or_escape(root: Path, pattern: str, message: str) -> None:
    path = write(root, GOOD.replace('mutable = ["bot/**/*.py"]', f'mutable = ["{pattern}"]'))
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(path)
    assert load_settings(path, check_globs=False).paths.mutable == [pattern]


def test_protected_glob_matching_nothing(root: Path) -> None:
    path = write(root, GOOD.replace('protected = ["bot/main.py"]', 'protected = ["bot/mian.py"]'))
    with pytest.raises(ConfigError, match=r"paths.protected: glob 'bot/mian.py' matches no file"):
        load_settings(path)


def test_malformed_toml(root: Path) -> None:
    with pytest.raises(ConfigError, match=r"theseus.toml is not valid TOML: .*line 2"):
        load_settings(write(root, "[agent]\npackage = \n"))


def test_unreadable_and_missing_config(
    root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(root / "nope.toml")
    (root / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match=r"cannot read .*bin.toml: not UTF-8 text"):
        load_settings(root / "bin.toml")
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(ConfigError, match=r"no theseus.toml found .* \(run `theseus init`"):
        load_settings(empty)


def test_pyproject_tool_section(root: Path) -> None:
    (root / CONFIG_FILE).unlink()
    body = GOOD.replace("[agent]", "[tool.theseus.agent]").replace(
        "[paths]", "[tool.theseus.paths]"
    )
    (root / "pyproject.toml").write_text('[project]\nname = "bot"\n\n' + body)
    settings = load_settings(root)
    assert settings.agent.package == "bot" and settings.root == root.resolve()
    (root / "pyproject.toml").write_text(body.replace("package", "pakage"))
    with pytest.raises(
        ConfigError,
        match=r"pyproject.toml: (unknown key 'agent.pakage'|required key 'agent.package' is missing)",
    ):
        load_settings(root)


def test_pyproject_without_section(root: Path) -> None:
    (root / CONFIG_FILE).unlink()
    (root / "pyproject.toml").write_text('[project]\nname = "bot"\n')
    with pytest.raises(ConfigError, match=r"no theseus.toml found"):
        load_settings(root)  # a pyproject without [tool.theseus] is not a config
    with pytest.raises(ConfigError, match=r"has no \[tool.theseus\] table"):
        load_settings(root / "pyproject.toml")


def test_parse_settings_reports_extra_problems() -> None:
    with pytest.raises(ConfigError, match=r"\(\+1 more problems\)"):
        parse_settings(
            {
                "agent": {"package": "b", "entrypoint": "b:h"},
                "paths": {"mutable": ["x"]},
                "replay": {"max_cases": 0, "case_timeout": -1},
            },
            root=Path("."),
        )


def test_load_callable(root: Path) -> None:
    handle = load_callable("bot.main:handle", root)
    assert handle("hi", {}) == "hi"
    with pytest.raises(ConfigError, match=r"importing 'bot.nothere' failed: ModuleNotFoundError"):
        load_callable("bot.nothere:handle", root)
    with pytest.raises(ConfigError, match=r"module 'bot.main' has no attribute 'hadle'"):
        load_callable("bot.main:hadle", root)
    with pytest.raises(ConfigError, match="is not callable"):
        load_callable("bot.main:VALUE", root)
    (root / "bot" / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    with pytest.raises(
        ConfigError, match=r"importing 'bot.broken' failed: RuntimeError: boom at import"
    ):
        load_callable("bot.broken:handle", root)
    (root / "bot" / "syntax.py").write_text("def (:\n")
    with pytest.raises(ConfigError, match=r"importing 'bot.syntax' failed: SyntaxError"):
        load_callable("bot.syntax:handle", root)
    assert os.sep  # the checks above ran against real imports


def test_a_proposer_name_of_a_plugin_is_accepted_but_a_repeated_one_is_not(tmp_path: Path) -> None:
    from theseus.config import parse_settings

    data = {
        "agent": {"entrypoint": "pkg.mod:handle", "package": "pkg"},
        "paths": {"mutable": ["pkg/**/*.py"]},
    }
    ok = parse_settings({**data, "propose": {"proposers": ["repair", "my-plugin"]}}, root=tmp_path)
    assert ok.propose.proposers == ["repair", "my-plugin"]
    with pytest.raises(ConfigError, match="more than once"):
        parse_settings({**data, "propose": {"proposers": ["repair", "repair"]}}, root=tmp_path)
    with pytest.raises(ConfigError, match="proposers"):
        parse_settings({**data, "propose": {"proposers": ["Not A Name!"]}}, root=tmp_path)
