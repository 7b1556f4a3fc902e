"""Attacks on what a candidate can reach: dynamic paths to capabilities, imports beyond the
allowlist, consent, and secrets in a diff.

Before this, the policy was a list of forbidden names: each test below names what that
policy said about the attack (mostly "ok"), so each fails without the protection.
"""

from __future__ import annotations

import json
import keyword
import string
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from project_files import write

from theseus.change import PolicyReport, check_policy, make_diff
from theseus.change.policy.categories import CATEGORIES, HARD, hits_module
from theseus.config import PolicySettings, Settings, parse_settings

SKILLS = "agent/skills.py"
BASE = "def refund(amount):\n    return amount * 100\n"
FILES = {
    "agent/__init__.py": "",
    SKILLS: BASE,
    "agent/core.py": "import subprocess as sp\n\n\ndef handle(message, state):\n    return message\n",
}
SAFE = frozenset(PolicySettings().allowed_imports)
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project is only read by the policy, so one per module serves every test."""
    root = tmp_path_factory.mktemp("capabilities") / "project"
    write(root, FILES)
    return root


def policy_settings(root: Path, **policy: object) -> Settings:
    return parse_settings(
        {
            "agent": {"package": "agent", "entrypoint": "agent.core:handle"},
            "paths": {"mutable": ["agent/**/*.py"]},
            "policy": policy,
        },
        root=root,
    )


def check(root: Path, text: str, base: str = BASE, **policy: object) -> PolicyReport:
    """The policy on ``text`` replacing agent/skills.py, whose base is ``base``."""
    scratch = root.parent / f"base-{abs(hash(base))}"
    if not scratch.exists():
        for rel, content in {**FILES, SKILLS: base}.items():
            (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
            (scratch / rel).write_text(content, encoding="utf-8")
    diff = make_diff(scratch, {SKILLS: text})
    return check_policy(diff, policy_settings(scratch, **policy), scratch)


def blamed(report: PolicyReport) -> set[tuple[str, int | None]]:
    return {(v.rule, v.line) for v in report.violations}


# --- dynamic paths to capabilities ---------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "rule", "key"),
    [
        (
            'm = getattr(__import__("o" + "s"), "sys" + "tem")\n',
            "forbidden-dynamic-access",
            "getattr(<computed name>)",
        ),
        ("import builtins\nvars(builtins)['ev' + 'al']('1')\n", "forbidden-dynamic-access", "vars"),
        ("import sys\nsp = sys.modules['subprocess']\n", "forbidden-dynamic-access", "sys.modules"),
        ("import pickle\nobj = pickle.loads(b'')\n", "forbidden-deserialization", "import pickle"),
        (
            "x = ().__class__.__bases__[0].__subclasses__()\n",
            "forbidden-introspection",
            "__subclasses__",
        ),
        ("import sys\ng = sys._getframe().f_globals\n", "forbidden-introspection", "sys._getframe"),
        ("breakpoint()\n", "forbidden-dynamic-code", "breakpoint"),
        ('e = __builtins__["eval"]\n', "forbidden-dynamic-access", "__builtins__"),
    ],
)
def test_dynamic_capability_constructs(project: Path, code: str, rule: str, key: str) -> None:
    """The old policy said ok to each of these except the first (and there it saw only the
    ``__import__``, not the computed attribute access)."""
    report = check(project, code + BASE)
    assert rule in report.rules, report.summary()
    violation = next(v for v in report.violations if v.rule == rule and key in v.message)
    assert violation.file == SKILLS and violation.line is not None
    assert any(c.line == violation.line and c.verdict == "rejected" for c in report.capabilities)
    assert not check(project, code + BASE, capability_changes="consent").ok


def test_computed_getattr_on_an_imported_module(project: Path) -> None:
    """``os`` was imported by the base, so only the computed lookup is new. Old: ok."""
    base = "import os\n\n\n" + BASE
    report = check(project, base + 'run = getattr(os, "sys" + "tem")\n', base=base)
    assert blamed(report) == {("forbidden-dynamic-access", 6)}


def test_importlib_is_refused_as_an_import(project: Path) -> None:
    """Old: only the ``importlib.import_module`` call was blamed, not ``importlib.util``
    (``spec_from_file_location`` loads any file) nor the import itself."""
    code = "import importlib.util\nspec = importlib.util.spec_from_file_location('m', 'x.py')\n"
    report = check(project, code + BASE)
    assert ("forbidden-dynamic-code", 1) in blamed(report)
    report = check(project, "import importlib\nm = importlib.import_module(name)\n" + BASE)
    assert {("forbidden-dynamic-code", 1), ("forbidden-dynamic-code", 2)} <= blamed(report)


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("import uuid\nuuid.os.system('id')\n", "uuid.os (module os)"),
        ("from uuid import os\n", "uuid.os (module os)"),
        ("import enum\nenum.bltns.eval('1')\n", "enum.bltns (module builtins)"),
        (
            "import json\n\n\ndef f(m):\n    return m.codecs\n\n\nf(json)\n",
            "module json used as a value",
        ),
        ("from agent import core\ncore.sp.run(['id'])\n", "agent.core.sp (module subprocess)"),
        ("from agent.core import sp\n", "agent.core.sp (module subprocess)"),
        ("def f(x: \"__import__('os')\") -> None:\n    return None\n", "__import__"),
        ("x = '{0.__globals__}'.format(refund)\n", "a string naming __globals__"),
        ("import operator\nget = operator.attrgetter('os.system')\n", "operator.attrgetter"),
        ("g = getattr\n", "getattr used as a value"),
        ("import random\nrandom._os.system('id')\n", "random._os (private module attribute)"),
        ("from uuid import *\n", "from uuid import *"),
    ],
)
def test_capabilities_smuggled_through_allowed_modules(project: Path, code: str, key: str) -> None:
    """Allowed modules and the project's own modules hand out other modules; string
    annotations and format strings are code too. Old: ok to every one."""
    report = check(project, code + BASE)
    assert not report.ok
    assert any(key in v.message and v.rule.startswith("forbidden-") for v in report.violations), (
        report.summary()
    )


@pytest.mark.parametrize(
    "code",
    [
        "from dataclasses import dataclass, field\n\n\n@dataclass\nclass A:\n    x: int = field(default=1)\n",
        "import collections.abc\nfrom collections import abc\nOK = isinstance({}, collections.abc.Mapping) and abc.Sized\n",
        "import datetime\nT = datetime.datetime.now().time()\n",
        "from typing import Literal\n\n\ndef f(x: 'list[int]', y: Literal['a b']) -> 'int':\n    return 1\n",
        "class A:\n    def name(self):\n        return self.__class__.__name__, getattr(self, 'x', None)\n",
        "import json\nE = json.decoder.JSONDecodeError\n",
        "from agent import core\nH = core.handle\n",
    ],
)
def test_ordinary_code_is_not_blamed(project: Path, code: str) -> None:
    report = check(project, code + BASE)
    assert report.ok, report.summary()


# --- the import allowlist ------------------------------------------------------------------


@pytest.mark.parametrize("module", ["socket", "os", "sys", "io", "pathlib", "shutil", "tempfile"])
def test_new_import_beyond_the_allowlist_is_rejected(project: Path, module: str) -> None:
    """Old: only socket (on the network list) was rejected; os, sys, io, pathlib, shutil and
    tempfile passed, and no report listed what the change could newly reach."""
    report = check(project, f"import {module}\n" + BASE)
    assert not report.ok and len(report.violations) == 1
    assert report.violations[0].line == 1
    assert report.violations[0].rule in ("capability", "forbidden-network")
    (capability,) = report.capabilities
    assert (capability.name, capability.line, capability.verdict) == (
        f"import {module}",
        1,
        "rejected",
    )
    assert report.to_dict()["capabilities"][0]["name"] == f"import {module}"


def test_new_import_math_is_allowed_and_listed(project: Path) -> None:
    report = check(project, "import math\n" + BASE)
    assert report.ok and not report.needs_consent
    assert [(c.name, c.verdict) for c in report.capabilities] == [("import math", "allowed")]
    assert report.summary().endswith("new: import math")


def test_reimporting_what_the_module_imports_is_allowed(project: Path) -> None:
    base = "import os\n\n\n" + BASE
    again = base.replace("    return amount", "    import os\n\n    return amount")
    report = check(project, again, base=base)
    assert report.ok and report.capabilities == []


def test_base_imports_match_exactly(project: Path) -> None:
    """``from os import path`` in the base allows itself again, not ``import os`` nor
    ``from os import sep``; the safe set allows submodules (``collections.abc``)."""
    base = "from os import path\n\n\n" + BASE
    assert check(
        project, base.replace("def refund", "from os import path\n\n\ndef refund"), base=base
    ).ok
    for new in ("import os\n", "from os import sep\n"):
        report = check(project, new + base, base=base)
        assert report.rules == ["capability"], report.summary()
    assert check(project, "import collections.abc\n" + BASE).ok


def test_allowed_imports_is_configurable(project: Path) -> None:
    assert check(project, "import shutil\n" + BASE, allowed_imports=["shutil"]).ok
    assert not check(project, "import math\n" + BASE, allowed_imports=["json"]).ok


def test_relative_imports_within_the_project_are_allowed(project: Path) -> None:
    report = check(project, "from . import core\nfrom .core import handle\n" + BASE)
    assert report.ok, report.summary()


# --- consent -----------------------------------------------------------------------------


def test_consent_mode(project: Path) -> None:
    """Under "consent" a new import beyond the allowlist is no violation, but the report
    needs consent and lists it; eval stays a violation. Old: no such setting or field."""
    report = check(project, "import socket\n" + BASE, capability_changes="consent")
    assert report.ok and report.needs_consent
    assert [(c.name, c.file, c.line, c.verdict) for c in report.capabilities] == [
        ("import socket", SKILLS, 1, "consent")
    ]
    assert "needs consent for agent/skills.py:1 import socket" in report.summary()
    assert report.to_dict()["needs_consent"] is True
    worse = check(project, "import socket\nx = eval('1')\n" + BASE, capability_changes="consent")
    assert not worse.ok and blamed(worse) == {("forbidden-dynamic-code", 2)}
    assert worse.needs_consent  # the socket still waits; the eval already sank it


@pytest.mark.parametrize(
    "code",
    [
        "import pickle\n",
        "import ctypes\n",
        "from os import system\n",
        "x = ().__class__\n",
        "import importlib\n",
    ],
)
def test_consent_never_covers_hard_constructs(project: Path, code: str) -> None:
    report = check(project, code + BASE, capability_changes="consent")
    assert not report.ok, report.summary()


# --- secrets ------------------------------------------------------------------------------

AWS = "AKIA" + "IOSFODNN7EXAMPLE"
OPENAI = "sk-" + "proj4f9XbQ2mZ7LwP1kR8tY3uV6"


@pytest.mark.parametrize(("value", "label"), [(AWS, "aws_key"), (OPENAI, "api_key")])
def test_added_secret_is_rejected_without_echoing_it(project: Path, value: str, label: str) -> None:
    """Old: ok; the key would have been archived, shown and committed."""
    report = check(project, BASE + f'KEY = "{value}"\n')
    assert blamed(report) == {("secret", 3)}
    assert label in report.violations[0].message
    assert value not in json.dumps(report.to_dict()) and value not in report.summary()


def test_a_secret_already_in_the_base_is_not_blamed(project: Path) -> None:
    base = BASE + f'KEY = "{AWS}"\n'
    assert check(project, base.replace("* 100", "* 101"), base=base).ok
    assert check(project, BASE + 'SUPPORT = "help@example.com"\n').ok  # not a credential
    assert check(project, BASE + f'KEY = "{AWS}"\n', secrets=False).ok


# --- properties ---------------------------------------------------------------------------

STDLIB = sorted(n for n in sys.stdlib_module_names if n.isidentifier() and not keyword.iskeyword(n))
ALL_CATEGORIES = {**CATEGORIES, **HARD}


@FUZZ
@given(st.sampled_from(STDLIB))
def test_a_new_import_passes_exactly_when_allowed(project: Path, module: str) -> None:
    report = check(project, f"import {module}\n" + BASE)
    assert report.ok == (module in SAFE), report.summary()
    assert [c.name for c in report.capabilities] == [f"import {module}"]


@FUZZ
@given(st.sampled_from([m for m in STDLIB if m not in SAFE]))
def test_consent_takes_every_import_no_hard_category_covers(project: Path, module: str) -> None:
    report = check(project, f"import {module}\n" + BASE, capability_changes="consent")
    hard = any(hits_module(category, module) for category in HARD.values())
    assert report.ok != hard, report.summary()
    assert report.needs_consent != hard


NAMES = st.text(string.ascii_lowercase, min_size=1, max_size=6).filter(
    lambda n: not keyword.iskeyword(n)
)
COMPUTED = st.one_of(
    NAMES.map(lambda n: f"{n!r} + {n!r}"),
    NAMES.map(lambda n: f"f'{{{n}}}'"),
    NAMES.map(lambda n: f"{n}_name"),
    NAMES.map(lambda n: f"''.join([{n!r}])"),
)


@FUZZ
@given(st.sampled_from(["getattr", "hasattr", "delattr"]), COMPUTED)
def test_any_computed_attribute_name_is_rejected(project: Path, function: str, name: str) -> None:
    report = check(project, BASE + f"def probe(obj):\n    return {function}(obj, {name})\n")
    assert "forbidden-dynamic-access" in report.rules, report.summary()


@FUZZ
@given(NAMES)
def test_a_literal_public_attribute_name_is_fine(project: Path, name: str) -> None:
    report = check(project, BASE + f"def probe(obj):\n    return getattr(obj, {name!r}, None)\n")
    assert report.ok, report.summary()
