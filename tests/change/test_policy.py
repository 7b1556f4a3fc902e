"""Policy rules, each on a real project folder; nothing is applied or run."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from theseus.change import Candidate, PolicyReport, check_policy, make_diff
from theseus.change.policy import find_constructs, is_test_file
from theseus.change.policy.constructs import CATEGORIES
from theseus.config import PolicySettings, Settings
from theseus.errors import ConfigError, PolicyViolation

SettingsFor = Callable[..., Settings]
SKILLS = "agent/skills.py"
BASE = "def refund(amount):\n    return amount * 100\n"


def check(
    project: Path, settings_for: SettingsFor, texts: dict[str, str | None], **policy: object
) -> PolicyReport:
    return check_policy(make_diff(project, texts), settings_for(project, **policy), project)


def rules(report: PolicyReport) -> list[str]:
    return [v.rule for v in report.violations]


def test_clean_fix_passes(project: Path, settings_for: SettingsFor) -> None:
    report = check(
        project, settings_for, {SKILLS: "def refund(amount):\n    return round(amount * 100)\n"}
    )
    assert report.ok, report.summary()
    assert report.files == [SKILLS] and report.changed_lines == 2
    assert report.summary().startswith("ok")
    report.raise_if_violated()


def test_candidate_object_is_accepted(project: Path, settings_for: SettingsFor) -> None:
    diff = make_diff(project, {SKILLS: "import subprocess\n" + BASE})
    candidate = Candidate.create(base_commit="x", diff=diff, proposer="t")
    report = check_policy(candidate, settings_for(project), project)
    assert rules(report) == ["forbidden-process"]
    assert str(report.violations[0]) == (
        "agent/skills.py:1: [forbidden-process] adds import subprocess "
        "(process is forbidden by policy.forbidden)"
    )
    with pytest.raises(PolicyViolation, match=r"\[forbidden-process\]"):
        report.raise_if_violated()
    assert report.to_dict()["violations"][0]["line"] == 1


def test_patch_that_does_not_apply(project: Path, settings_for: SettingsFor) -> None:
    report = check_policy(
        "--- a/agent/skills.py\n+++ b/agent/skills.py\n@@ -1 +1 @@\n-nope\n+x\n",
        settings_for(project),
        project,
    )
    assert rules(report) == ["applies"] and "does not apply" in report.violations[0].message


def test_syntax_error(project: Path, settings_for: SettingsFor) -> None:
    report = check(project, settings_for, {SKILLS: "def refund(amount):\n    return (\n"})
    assert rules(report)[0] == "parses" and report.violations[0].line == 2


def test_paths_rules(project: Path, settings_for: SettingsFor) -> None:
    (project / "README.md").write_text("hi\n")
    report = check(
        project,
        settings_for,
        {
            "agent/core.py": "def handle(message, state):\n    return [message]\n",
            "README.md": "changed\n",
            "tests/test_agent.py": "def test_ok():\n    assert 1\n",
        },
    )
    found = {(v.rule, v.file) for v in report.violations}
    assert found == {
        ("protected-paths", "agent/core.py"),
        ("mutable-paths", "README.md"),
        ("tests", "tests/test_agent.py"),
    }


def test_test_changes_allowed_when_configured(project: Path, settings_for: SettingsFor) -> None:
    report = check(
        project,
        settings_for,
        {"tests/test_agent.py": "def test_ok():\n    assert 1\n"},
        allow_test_changes=True,
    )
    assert report.ok


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/x.py", True),
        ("pkg/tests/data.json", True),
        ("test_a.py", True),
        ("a_test.py", True),
        ("pkg/conftest.py", True),
        ("pkg/testing.py", False),
        ("pkg/contest.py", False),
    ],
)
def test_test_file_patterns(path: str, expected: bool) -> None:
    assert is_test_file(path) is expected


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("def refund(amount, currency):\n    return amount\n", "changes the parameters"),
        ("def refund(amount=1):\n    return amount\n", "changes the parameters"),
        ("def reimburse(amount):\n    return amount\n", "removes protected"),
    ],
)
def test_protected_signature(
    project: Path, settings_for: SettingsFor, new: str, message: str
) -> None:
    report = check(project, settings_for, {SKILLS: new})
    assert "protected-signature" in rules(report)
    assert message in next(v.message for v in report.violations if v.rule == "protected-signature")


def test_protected_signature_allows_body_and_annotation_changes(
    project: Path, settings_for: SettingsFor
) -> None:
    report = check(
        project,
        settings_for,
        {SKILLS: "def refund(amount: float) -> float:\n    return amount * 99\n"},
    )
    assert report.ok, report.summary()


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("import subprocess\n", "forbidden-process"),
        ("import os\nos.system('ls')\n", "forbidden-process"),
        ("import os\nos.execvp('ls', [])\n", "forbidden-process"),
        ("from os import fork\n", "forbidden-process"),
        ("import multiprocessing.pool\n", "forbidden-process"),
        ("import socket as s\n", "forbidden-network"),
        ("from urllib.request import urlopen\n", "forbidden-network"),
        ("from http import client\n", "forbidden-network"),
        ("import requests\n", "forbidden-network"),
        ("x = eval('1')\n", "forbidden-dynamic-code"),
        ("exec('x = 1')\n", "forbidden-dynamic-code"),
        ("f = compile('1', 'f', 'eval')\n", "forbidden-dynamic-code"),
        ("m = __import__('os')\n", "forbidden-dynamic-code"),
        ("import importlib\nm = importlib.import_module('os')\n", "forbidden-dynamic-code"),
        ("import ctypes\n", "forbidden-ctypes"),
        ("from cffi import FFI\n", "forbidden-ctypes"),
        ("open('/etc/passwd', 'w').write('x')\n", "forbidden-filesystem-escape"),
        ("open('../x', mode='a')\n", "forbidden-filesystem-escape"),
        ("import shutil\nshutil.rmtree('build')\n", "forbidden-filesystem-escape"),
        ("import os\nos.remove('/tmp/x')\n", "forbidden-filesystem-escape"),
        ("import os\nos.chdir('sub')\n", "forbidden-filesystem-escape"),
        (
            "from pathlib import Path\nPath('/etc') .joinpath('x')\nPath('/etc/x').write_text('y')\n",
            "forbidden-filesystem-escape",
        ),
        ("from pathlib import Path\n(Path('..') / 'x').unlink()\n", "forbidden-filesystem-escape"),
    ],
)
def test_forbidden_constructs(
    project: Path, settings_for: SettingsFor, code: str, rule: str
) -> None:
    report = check(project, settings_for, {SKILLS: code + BASE})
    assert rule in rules(report), report.summary()
    violation = next(v for v in report.violations if v.rule == rule)
    assert violation.file == SKILLS and violation.line is not None


@pytest.mark.parametrize(
    "code",
    [
        "import re\np = re.compile('x')\n",
        "open('data.txt').read()\n",
        "open('/etc/hosts').read()\n",
        "from pathlib import Path\nPath('out/x').write_text('y')\n",
        "import urllib.parse\nurllib.parse.quote('x')\n",
        "def run(cmd):\n    return cmd\nrun('x')\n",
    ],
)
def test_harmless_code_is_not_forbidden(
    project: Path, settings_for: SettingsFor, code: str
) -> None:
    # pathlib and urllib are capabilities beyond the default allowlist: a project allows them
    allowed = [*PolicySettings().allowed_imports, "pathlib", "urllib"]
    report = check(project, settings_for, {SKILLS: code + BASE}, allowed_imports=allowed)
    assert report.ok, report.summary()


def test_a_new_import_beyond_the_allowlist_is_a_capability_violation(
    project: Path, settings_for: SettingsFor
) -> None:
    report = check(project, settings_for, {SKILLS: "from pathlib import Path\n" + BASE})
    assert rules(report) == ["capability"], report.summary()


def test_preexisting_forbidden_code_is_not_blamed(project: Path, settings_for: SettingsFor) -> None:
    base = "import subprocess\n\ndef refund(amount):\n    subprocess.run(['x'])\n    return amount * 100\n"
    (project / SKILLS).write_text(base)
    fixed = base.replace("amount * 100", "round(amount * 100)")
    assert check(project, settings_for, {SKILLS: fixed}).ok
    moved = "import subprocess\n\ndef refund(amount):\n    return round(amount * 100)\n\n\ndef later():\n    subprocess.run(['x'])\n"
    assert check(project, settings_for, {SKILLS: moved}).ok
    more = fixed.replace("    return round", "    subprocess.call(['y'])\n    return round")
    report = check(project, settings_for, {SKILLS: more})
    assert rules(report) == ["forbidden-process"] and report.violations[0].line == 5


def test_forbidden_is_configurable(project: Path, settings_for: SettingsFor) -> None:
    code = {SKILLS: "import requests\nimport shutil\nshutil.move('a', 'b')\n" + BASE}
    allowed = ["requests", "shutil"]
    assert check(project, settings_for, code, forbidden=["process"], allowed_imports=allowed).ok
    report = check(
        project,
        settings_for,
        code,
        forbidden=[],
        forbidden_names=["shutil.move"],
        allowed_imports=allowed,
    )
    assert rules(report) == ["forbidden-custom"] and report.violations[0].line == 3
    with pytest.raises(ConfigError, match="unknown category 'nope'"):
        check(project, settings_for, code, forbidden=["nope"])


@pytest.mark.parametrize(
    ("new", "message"),
    [
        (
            "def refund(amount):\n    # TODO: fix rounding\n    return amount * 100\n",
            "placeholder comment",
        ),
        ("def refund(amount):\n    pass\n", "bare `pass`"),
        ("def refund(amount):\n    ...\n", "bare `...`"),
        (
            "def refund(amount):\n    raise NotImplementedError\n",
            "bare `raise NotImplementedError`",
        ),
        ('def refund(amount):\n    """Refund."""\n', "trivial one"),
        ("def refund(amount):\n    return 0\n", "trivial one"),
        (
            "def refund(amount):\n    try:\n        return amount * 100\n    except Exception:\n        pass\n",
            "bare `pass`",
        ),
    ],
)
def test_placeholders(project: Path, settings_for: SettingsFor, new: str, message: str) -> None:
    report = check(project, settings_for, {SKILLS: new})
    assert rules(report) == ["placeholder"], report.summary()
    assert message in report.violations[0].message and report.violations[0].line


def test_placeholder_exceptions_and_switch(project: Path, settings_for: SettingsFor) -> None:
    allowed = (
        "import abc\nfrom typing import Protocol\n\n"
        "class Error(Exception):\n    pass\n\n"
        "class Base(abc.ABC):\n    @abc.abstractmethod\n    def go(self):\n        raise NotImplementedError\n\n"
        "class Shape(Protocol):\n    def area(self) -> float: ...\n\n" + BASE
    )
    assert check(project, settings_for, {SKILLS: allowed}).ok
    assert check(
        project, settings_for, {SKILLS: "def refund(amount):\n    pass\n"}, placeholders=False
    ).ok


def test_existing_placeholders_are_not_blamed(project: Path, settings_for: SettingsFor) -> None:
    base = "def stub():\n    pass  # TODO later\n\n\n" + BASE
    (project / SKILLS).write_text(base)
    assert check(project, settings_for, {SKILLS: base.replace("* 100", "* 101")}).ok


def test_size_limits(project: Path, settings_for: SettingsFor) -> None:
    big = (
        "def refund(amount):\n"
        + "".join(f"    x{i} = {i}\n" for i in range(30))
        + "    return amount\n"
    )
    report = check(project, settings_for, {SKILLS: big}, max_changed_lines=10)
    assert rules(report) == ["max-changed-lines"]
    files = {f"agent/m{i}.py": f"X = {i}\n" for i in range(3)}
    assert rules(check(project, settings_for, files, max_files=2)) == ["max-files"]


def test_every_category_has_detection() -> None:
    samples = {
        "process": "import subprocess\n",
        "network": "import socket\n",
        "dynamic-code": "eval('1')\n",
        "ctypes": "import ctypes\n",
        "filesystem-escape": "import os\nos.chdir('/')\n",
    }
    assert set(samples) == set(CATEGORIES)
    for name, code in samples.items():
        assert [c.category for c in find_constructs(code, {name: CATEGORIES[name]})] == [name]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="needs mypy")
def test_typecheck_rejects_new_errors_only(project: Path, settings_for: SettingsFor) -> None:
    (project / SKILLS).write_text(
        "def refund(amount: int) -> int:\n    return amount * 100\n\n\nBAD: int = 'x'\n"
    )
    fine = check(
        project,
        settings_for,
        {SKILLS: "def refund(amount: int) -> int:\n    return amount * 101\n\n\nBAD: int = 'x'\n"},
        typecheck=True,
    )
    assert fine.ok, fine.summary()
    worse = check(
        project,
        settings_for,
        {SKILLS: "def refund(amount: int) -> int:\n    return str(amount)\n\n\nBAD: int = 'x'\n"},
        typecheck=True,
    )
    assert rules(worse) == ["typecheck"]
    assert worse.violations[0].line == 2 and "return-value" in worse.violations[0].message
