"""theseus.toml (or ``[tool.theseus]`` in pyproject.toml) -> validated settings.

Every section later stages read lives here, so a typo is caught once, at load time, with one
line that names the key and the fix, instead of surfacing as odd behaviour mid-cycle.
"""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from theseus.endpoints import BASE_URL_HINT, base_url_problem, check_prices
from theseus.errors import ConfigError, TheseusError
from theseus.paths import DEFAULT_EVIDENCE_STORE, STATE_DIR

CONFIG_FILE = "theseus.toml"
Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_WEIGHT: dict[str, int] = {"low": 1, "medium": 2, "high": 3, "critical": 4}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentSettings(_Section):
    """What the agent is and how to call it."""

    name: str = "agent"
    package: str = Field(description="import name of the agent's package")
    entrypoint: str = Field(description="module:callable taking (message, state) -> reply")
    migrate: str | None = Field(default=None, description="module:callable for session state")
    python_path: list[str] = Field(default_factory=lambda: ["."])

    @field_validator("entrypoint", "migrate")
    @classmethod
    def _module_colon_callable(cls, value: str | None) -> str | None:
        if value is not None:
            module, sep, attr = value.partition(":")
            if not sep or not module or not attr:
                raise ValueError(f"{value!r} is not of the form 'module:callable'")
        return value


class PathSettings(_Section):
    """Which files a candidate may change, and which it must never touch."""

    mutable: list[str] = Field(min_length=1)
    protected: list[str] = Field(default_factory=list)
    protected_signatures: list[str] = Field(default_factory=list)


class TestSettings(_Section):
    command: str = "python -m pytest -q -x -p no:cacheprovider"
    timeout: float = Field(default=300.0, gt=0)


class EvidenceSettings(_Section):
    store: str = DEFAULT_EVIDENCE_STORE
    min_severity: Severity = "low"
    exception_severity: Severity = "high"


def _endpoint_url(value: str | None) -> str | None:
    """A model endpoint's URL, checked (:func:`theseus.endpoints.base_url_problem`)."""
    if value is None:
        return None
    problem = base_url_problem(value)
    if problem is not None:
        raise ValueError(f"{problem} ({BASE_URL_HINT})")
    return value.strip()


class ReplaySettings(_Section):
    max_cases: int = Field(default=20, ge=1)
    case_timeout: float = Field(default=10.0, gt=0)
    holdout_share: float = Field(
        default=0.2,
        ge=0.0,
        le=0.5,
        description="share of each batch's cases kept from proposers; only verification runs"
        " them, so a fix fitted to the cases it saw shows up as held-out failures",
    )
    holdout_min_cases: int = Field(
        default=4, ge=2, description="batches with fewer cases hold none out"
    )
    type_check: bool = Field(
        default=True,
        description="a crash case passes only if the crash's functions return values of their"
        " annotated return types (functions without annotations are not judged)",
    )
    reply_shape: bool = Field(
        default=True,
        description="a crash case passes only if its reply has the shape of the function's"
        " successful replies to inputs of the same kind",
    )
    unrecorded: Literal["fail", "forward"] = Field(
        default="fail",
        description="a model/HTTP/tool call the recording lacks: fail the case, or forward"
        " it to forward_url (a local model server) and record the answer",
    )
    forward_url: str | None = Field(
        default=None, description="the model endpoint unrecorded calls go to (forward)"
    )

    @field_validator("forward_url")
    @classmethod
    def _forward_endpoint(cls, value: str | None) -> str | None:
        return _endpoint_url(value)

    @model_validator(mode="after")
    def _forward_needs_url(self) -> ReplaySettings:
        if self.unrecorded == "forward" and not self.forward_url:
            raise ValueError('unrecorded = "forward" needs forward_url (a local model server)')
        return self


class RepairSettings(_Section):
    max_candidates: int = Field(default=400, ge=1)
    max_seconds: float = Field(default=120.0, gt=0)
    top_locations: int = Field(default=20, ge=1)
    alternatives: int = Field(default=1, ge=1)
    second_round: bool = True
    forked_trials: bool = Field(
        default=True,
        description="run each trial in a fork of a warm sandboxed pytest parent (a plain"
        " pytest command only; a fix found so is proved by a cold run)",
    )


class LLMSettings(_Section):
    provider: Literal["openai", "anthropic"] = "openai"
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    samples: int = Field(default=3, ge=1)
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    max_output_tokens: int = Field(default=4096, ge=1)
    redact: list[str] = Field(default_factory=list)
    prices: dict[str, float] = Field(
        default_factory=dict, description="USD per million tokens: {'input': x, 'output': y}"
    )

    @field_validator("prices")
    @classmethod
    def _price_table(cls, value: dict[str, float]) -> dict[str, float]:
        try:
            check_prices(value)
        except TheseusError as exc:
            raise ValueError(exc.line()) from None
        return value

    @field_validator("base_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return _endpoint_url(value)


class AgentProposerSettings(_Section):
    """The built-in coding agent (uses the [propose.llm] model)."""

    max_steps: int = Field(default=30, ge=1, description="model turns per run")
    max_tokens: int = Field(default=200_000, ge=1, description="tokens per run, in + out")
    command_timeout: float = Field(default=60.0, gt=0, description="seconds per shell command")


class CommandProposerSettings(_Section):
    """An external coding-agent CLI run in a throwaway copy of the code.

    ``{prompt}`` in an argument is replaced by the prompt, ``{prompt_file}`` by the path of
    a file holding it; with neither, the prompt is written to the command's stdin.
    """

    argv: list[str] = Field(default_factory=list, description='e.g. ["claude", "-p", "{prompt}"]')
    timeout: float = Field(default=600.0, gt=0)


ProposerName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
"""A registered proposer's name (``theseus.propose.registry``): the built-in ones are
``repair``, ``llm``, ``agent`` and ``command``; a package can register more, so which names
exist is checked when the proposers are built, with the known names in the error."""


def _default_proposers() -> list[str]:
    return ["repair"]


class ProposeSettings(_Section):
    proposers: list[ProposerName] = Field(default_factory=_default_proposers)

    @field_validator("proposers")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"names {', '.join(repeated)} more than once; list each once")
        return value

    repair: RepairSettings = RepairSettings()
    llm: LLMSettings = LLMSettings()
    agent: AgentProposerSettings = AgentProposerSettings()
    command: CommandProposerSettings = CommandProposerSettings()


class PolicySettings(_Section):
    forbidden: list[str] = Field(
        default_factory=lambda: [
            "process",
            "network",
            "dynamic-code",
            "ctypes",
            "filesystem-escape",
        ]
    )
    allow_test_changes: bool = False
    max_changed_lines: int = Field(default=200, ge=1)
    max_files: int = Field(default=10, ge=1)
    typecheck: bool = False
    placeholders: bool = Field(default=True, description="reject TODO/pass/... where code was")
    forbidden_names: list[str] = Field(
        default_factory=list, description="extra dotted names to forbid, e.g. 'shutil.move'"
    )
    allowed_imports: list[Annotated[str, Field(pattern=r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")]] = (
        Field(
            default_factory=lambda: [
                *("__future__", "abc", "array", "base64", "binascii", "bisect", "calendar"),
                *("cmath", "collections", "colorsys", "copy", "dataclasses", "datetime"),
                *("decimal", "difflib", "enum", "fractions", "functools", "graphlib"),
                *("hashlib", "heapq", "hmac", "html", "itertools", "json", "keyword", "math"),
                *("numbers", "operator", "pprint", "random", "re", "reprlib", "statistics"),
                *("string", "struct", "textwrap", "typing", "unicodedata", "uuid", "zoneinfo"),
            ],
            description="modules any candidate may newly import (submodules included), besides"
            " what the changed module already imports and the agent's own package",
        )
    )
    capability_changes: Literal["reject", "consent"] = Field(
        default="reject",
        description="an import beyond the allowlist: a violation, or a report that needs consent",
    )
    secrets: bool = Field(default=True, description="reject a diff that adds a key or token")


class VerifySettings(_Section):
    workers: int = Field(default=2, ge=1)
    sandbox: Literal["auto", "bwrap", "netns", "rlimits"] = "auto"
    timeout: float = Field(default=600.0, gt=0)
    memory_mb: int = Field(default=2048, ge=64)
    cpu_seconds: int = Field(default=600, ge=1)
    max_processes: int = Field(default=256, ge=8)
    max_file_mb: int = Field(default=256, ge=1)
    tmp_mb: int = Field(default=256, ge=1, description="size of the sandbox's private /tmp")
    workspace_mb: int = Field(
        default=1024, ge=16, description="disk quota of each workspace, in MB (root: a tmpfs)"
    )
    workspace_files: int = Field(
        default=100_000, ge=100, description="file (inode) quota of each workspace"
    )
    memory_cgroup: bool = Field(
        default=True,
        description="hold each run, tmpfs included, to memory_mb in a memory cgroup (root)",
    )
    read_only_paths: list[str] = Field(
        default_factory=list,
        description="more host paths the sandbox may read (it sees /usr, the Python"
        " environment and a few /etc files; never /root, /home, /run or secrets)",
    )
    allow_weak_sandbox: bool = Field(
        default=False,
        description="run candidate code even where only the rlimits backend works (it"
        " isolates nothing); off, verification refuses instead",
    )
    fail_fast: bool = Field(
        default=True, description="stop verifying a candidate at its first unfixed replay case"
    )


class GateSettings(_Section):
    consent: Literal["auto", "manual", "webhook"] = "auto"
    min_fixed_share: float = Field(default=1.0, ge=0.0, le=1.0)
    max_regressions: int = Field(default=0, ge=0)
    manual_timeout: float = Field(default=3600.0, gt=0)
    webhook_url: str | None = None
    webhook_secret_env: str = "THESEUS_WEBHOOK_SECRET"
    webhook_listen: str = Field(
        default="127.0.0.1:0", description="host:port of the receiver for signed answers"
    )
    webhook_callback_url: str | None = Field(
        default=None, description="URL approvers call back, when not the listen address"
    )


class RuntimeSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=0, le=65535)
    workers_per_version: int = Field(default=2, ge=1)
    restart_intensity: int = Field(default=5, ge=1)
    restart_period: float = Field(default=10.0, gt=0)
    canary_share: float = Field(default=0.0, ge=0.0, le=1.0)
    health_window: float = Field(default=30.0, gt=0)
    health_min_samples: int = Field(default=20, ge=1)
    max_error_rate_increase: float = Field(default=0.05, ge=0.0)
    max_p95_ratio: float = Field(
        default=2.0,
        ge=1.0,
        description="a new version whose p95 of the agent's own time per call is more than"
        " this many times the old one's (and beyond the old one's own spread) is rolled back",
    )
    latency_floor_ms: float = Field(
        default=10.0,
        ge=0.0,
        description="latency differences smaller than this are never a regression",
    )
    health_warmup_calls: int = Field(
        default=2,
        ge=0,
        description="each new worker's first calls are left out of the latency judgement",
    )
    call_timeout: float = Field(default=30.0, gt=0)
    warm_deploys: bool = Field(
        default=True,
        description="fork a new version's workers from a parent started ahead of need, in the"
        " same confinement (false: every worker starts cold)",
    )
    worker_isolation: Literal["auto", "bwrap", "none"] = Field(
        default="auto",
        description="confine served workers (bwrap: read-only code, no .theseus or repository,"
        " unprivileged uid); auto = bwrap where it works",
    )
    worker_network: bool = Field(
        default=True, description="false: served workers run with no network at all"
    )
    state_paths: list[str] = Field(
        default_factory=list,
        description="folders served workers may write (relative to the project); nothing else",
    )
    worker_memory_mb: int | None = Field(
        default=None, ge=64, description="address-space limit per served worker"
    )
    admin_token_env: str = Field(
        default="THESEUS_ADMIN_TOKEN",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="environment variable holding the control-plane credential",
    )
    admin_token_file: str | None = Field(
        default=None,
        description="file holding the credential (relative to the project), if not the env var;"
        " with neither, `theseus serve` makes .theseus/admin.token (mode 0600)",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="larger request bodies get 413, unread"
    )
    session_tokens: bool = Field(
        default=True,
        description="a session's messages and state need the token its first reply gave",
    )


class BudgetSettings(_Section):
    attempts_per_signature: int = Field(default=3, ge=1)
    cycle_seconds: float = Field(default=600.0, gt=0)
    cycle_candidates: int = Field(default=2000, ge=1)
    cycle_tokens: int | None = Field(default=None, ge=0)
    cycle_cost_usd: float | None = Field(default=None, ge=0)
    max_rollbacks_per_hour: int = Field(default=3, ge=1)


_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)(?!.*@\{)[A-Za-z0-9._/-]+(?<!\.lock)(?<![/.])$")


class LineageSettings(_Section):
    branch: str | None = Field(
        default=None,
        description="put promoted fixes (and rollback commits) on this branch, created from"
        " HEAD at the first promotion, instead of the checked-out branch; the working tree is"
        " then never touched and the next fix builds on this branch's tip",
    )

    @field_validator("branch")
    @classmethod
    def _branch_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip().removeprefix("refs/heads/")
        if not _BRANCH.match(name):
            raise ValueError(f"{value!r} is not a usable git branch name (e.g. 'theseus/fixes')")
        return name


class Settings(_Section):
    """The whole validated configuration; ``root`` is the folder theseus.toml lives in."""

    agent: AgentSettings
    paths: PathSettings
    tests: TestSettings = TestSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    replay: ReplaySettings = ReplaySettings()
    propose: ProposeSettings = ProposeSettings()
    policy: PolicySettings = PolicySettings()
    verify: VerifySettings = VerifySettings()
    gate: GateSettings = GateSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    budget: BudgetSettings = BudgetSettings()
    lineage: LineageSettings = LineageSettings()
    root: Annotated[Path, Field(exclude=True)] = Path(".")

    @property
    def state_dir(self) -> Path:
        """Where Theseus keeps its own files for this project (.theseus/)."""
        return self.root / STATE_DIR

    @property
    def evidence_path(self) -> Path:
        return (self.root / self.evidence.store).resolve()


def find_config(start: Path) -> Path:
    """The nearest theseus.toml, or pyproject.toml with [tool.theseus], at or above start."""
    start = start.resolve()
    for folder in [start, *start.parents]:
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_tool_section(pyproject):
            return pyproject
    raise ConfigError(
        f"no {CONFIG_FILE} found in {start} or any parent folder",
        hint="run `theseus init` in the agent's project, or pass --project DIR",
    )


def _has_tool_section(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return isinstance(data.get("tool"), dict) and "theseus" in data["tool"]


def load_settings(path: Path | None = None, *, check_globs: bool = True) -> Settings:
    """Read, validate and cross-check a config file; raise ConfigError with one line."""
    path = find_config(Path.cwd()) if path is None else path
    if path.is_dir():
        path = find_config(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read {path}: not UTF-8 text") from None
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from exc
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("theseus")
        if not isinstance(data, dict):
            raise ConfigError(
                f"{path} has no [tool.theseus] table", hint="add one or a theseus.toml"
            )
    settings = parse_settings(data, root=path.parent.resolve(), source=path.name)
    if check_globs:
        check_paths(settings)
    return settings


def parse_settings(data: dict[str, Any], *, root: Path, source: str = CONFIG_FILE) -> Settings:
    """Validate a config mapping; the first problem becomes one line naming the key."""
    try:
        return Settings.model_validate({**data, "root": root})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def _describe(exc: ValidationError, source: str) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        section = key.rpartition(".")[0] or "top level"
        return f"{source}: unknown key '{key}' (remove it or check the spelling; see `theseus init` for the keys of [{section}])"
    if kind == "missing":
        return f"{source}: required key '{key}' is missing (add it; `theseus init` writes a starter file)"
    given = error.get("input")
    # Our own validators (value_error) word the value themselves, and leave out what must
    # not be echoed, such as credentials in a base_url.
    shown = "" if isinstance(given, dict) or kind == "value_error" else f", got {given!r}"
    more = f" (+{len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
    return f"{source}: key '{key}': {error['msg']}{shown}{more}"


def check_paths(settings: Settings) -> None:
    """Every mutable/protected glob must match at least one file: a typo would silently
    make nothing mutable, or leave a protected file unprotected."""
    for key in ("mutable", "protected"):
        for pattern in getattr(settings.paths, key):
            if not pattern or pattern.startswith("/") or ".." in pattern.split("/"):
                raise ConfigError(
                    f"paths.{key}: glob {pattern!r} must be a non-empty path inside the project",
                    hint="write it relative to the folder of theseus.toml, without '..'",
                )
            if not any(p.is_file() for p in settings.root.glob(pattern)):
                raise ConfigError(
                    f"paths.{key}: glob {pattern!r} matches no file under {settings.root}",
                    hint="fix the pattern (it is relative to the folder of theseus.toml)",
                )


def load_callable(spec: str, root: Path, python_path: list[str] | None = None) -> Any:
    """Import ``module:callable`` from the project; ConfigError naming what failed."""
    module_name, _, attr = spec.partition(":")
    for entry in reversed(python_path or ["."]):
        folder = str((root / entry).resolve())
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            f"entrypoint {spec!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}",
            hint="check agent.entrypoint and agent.python_path",
        ) from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(
                f"entrypoint {spec!r}: module {module_name!r} has no attribute {attr!r}",
                hint="check the name after ':' in agent.entrypoint",
            )
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"entrypoint {spec!r} is not callable")
    return target
