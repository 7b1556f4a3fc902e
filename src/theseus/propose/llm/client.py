"""One small chat interface in front of every model provider.

The LLM proposer and the coding agent talk to :class:`ChatClient` only, so a provider is a
thin adapter over its official SDK (``openai`` for every OpenAI-compatible endpoint,
``anthropic`` for Claude) and tests can drive the real adapters against a scripted local
server. Every failure a user can cause or meet (no key, wrong key, unknown model,
unreachable endpoint, rate limits that outlast the retries, timeouts, answers that are not
what was asked for) is an :class:`LLMError` with one readable line and a hint; the key itself
never appears in a message, a log or the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from theseus.endpoints import endpoint_label
from theseus.errors import TheseusError

Role = Literal["system", "user", "assistant", "tool"]
LLMErrorKind = Literal[
    "missing_key",
    "auth",
    "model_not_found",
    "unreachable",
    "rate_limited",
    "timeout",
    "bad_response",
    "refused",
    "not_installed",
]


class LLMError(TheseusError):
    """A model call that could not give an answer; ``kind`` says which way it failed."""

    def __init__(
        self,
        message: str,
        *,
        kind: LLMErrorKind,
        hint: str | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.kind: LLMErrorKind = kind
        # Tokens the failed call still consumed (a refusal, an unusable answer): charge them.
        self.usage: Usage = usage if usage is not None else Usage()


@dataclass(frozen=True)
class ToolCall:
    """A model's request to run one tool; ``arguments`` is the decoded JSON object."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Message:
    """One turn of a conversation in a provider-neutral shape.

    ``tool_calls`` is set on assistant turns that asked for tools; ``tool_call_id`` on the
    ``tool`` turn that answers one of them.
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: a name, what it does, and a JSON Schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    """Tokens one call consumed, as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True)
class Reply:
    """A model's answer: text, tool calls (possibly both), what it cost in tokens, and why it
    stopped (``"stop"``, ``"tool_calls"``, ``"length"``, or the provider's own word)."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    stop_reason: str = ""


@runtime_checkable
class ChatClient(Protocol):
    """A configured model: ``complete`` sends a conversation and returns the next turn.

    Implementations retry rate limits and transient server errors with backoff themselves
    and raise :class:`LLMError` for everything they cannot recover from.
    """

    provider: str
    model: str

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Reply: ...


# -- shared by the provider adapters ---------------------------------------------------------


@dataclass(frozen=True)
class SDKErrors:
    """One SDK's exception classes, by what went wrong.

    Both official SDKs are generated from the same template, so their hierarchies line up
    one to one and a single translation (:meth:`SDKClient._call`) serves both."""

    timeout: type[Exception]
    connection: type[Exception]
    status: type[Exception]
    validation: type[Exception]
    base: type[Exception]


class SDKClient:
    """What both SDK adapters share: the model, the output cap, the :class:`Endpoint` their
    errors name, and the translation of SDK failures. Subclasses build their SDK object in
    :meth:`_connect` and name its exception classes in ``sdk_errors``."""

    provider: str = ""
    default_url: str = ""
    sdk_errors: ClassVar[SDKErrors]

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        max_output_tokens: int = 4096,
        key_env: str | None = None,
    ) -> None:
        self.model = model
        self.max_output_tokens = max_output_tokens
        self.url = base_url or self.default_url
        self.endpoint = Endpoint(
            self.provider, self.url, model, timeout, max_retries, key_env, secret=api_key
        )
        self._connect(api_key)

    def _connect(self, api_key: str) -> None:
        """Build the SDK client (the SDK keeps the key; this object only scrubs it)."""
        raise NotImplementedError

    def _call(self, create: Callable[..., object], request: dict[str, Any]) -> object:
        """``create(**request)``, with every failure the SDK gives up on as an LLMError."""
        where, errors = self.endpoint, self.sdk_errors
        try:
            return create(**request)
        except errors.timeout:
            raise where.timed_out() from None
        except errors.connection as exc:
            raise where.unreachable(connection_detail(exc)) from None
        except errors.status as exc:
            message = str(getattr(exc, "message", exc))
            detail, code = error_detail(getattr(exc, "body", None), message)
            status = int(getattr(exc, "status_code", 0))
            raise where.status_error(status, detail, code=code) from None
        except errors.validation as exc:
            raise where.bad_response(str(getattr(exc, "message", exc))) from None
        except errors.base as exc:
            raise where.bad_response(f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # a 200 whose body is not JSON, or not the expected shape
            raise where.bad_response(f"body is not JSON ({exc})") from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, endpoint={self.endpoint.url!r})"


def tool_result_id(message: Message) -> str:
    """The id of the call a ``tool`` message answers; both wire formats need it."""
    if not message.tool_call_id:
        raise LLMError(
            "a tool message has no tool_call_id",
            kind="bad_response",
            hint="answer each ToolCall with Message('tool', text, tool_call_id=call.id)",
        )
    return message.tool_call_id


RAW_ARGUMENTS_KEY = "_raw"
"""Tool-call arguments that are not a JSON object arrive as ``{RAW_ARGUMENTS_KEY: text}``.

Small local models often emit broken JSON; failing the whole turn would throw away the
tokens it cost and end an agent run, while this shape fails the tool's own argument check
and lets the model see, and correct, what it sent."""

_DETAIL_CHARS = 240


def decode_arguments(raw: str | None) -> dict[str, Any]:
    """Tool-call arguments as a dict: ``""``/``None`` -> ``{}``; a JSON object -> itself;
    anything else -> ``{RAW_ARGUMENTS_KEY: raw}``."""
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {RAW_ARGUMENTS_KEY: raw}
    return value if isinstance(value, dict) else {RAW_ARGUMENTS_KEY: raw}


def encode_arguments(arguments: dict[str, Any]) -> str:
    """The inverse of :func:`decode_arguments` for sending a conversation back."""
    if set(arguments) == {RAW_ARGUMENTS_KEY} and isinstance(arguments[RAW_ARGUMENTS_KEY], str):
        return str(arguments[RAW_ARGUMENTS_KEY])
    return json.dumps(arguments)


def connection_detail(exc: BaseException) -> str:
    """The innermost reason of a connection error ("Connection refused"), without errno."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc) or type(exc).__name__
    return text.split("] ", 1)[1] if text.startswith("[Errno") and "] " in text else text


def error_detail(body: object, fallback: str) -> tuple[str, str]:
    """``(message, code)`` from an error body, in OpenAI's shape or close to it."""
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = error.get("message") or fallback
        code = error.get("code") or error.get("type") or ""
        return str(message), str(code)
    if isinstance(error, str):
        return error, ""
    return fallback, ""


@dataclass(frozen=True)
class Endpoint:
    """Where calls go, for error messages: every :class:`LLMError` an adapter raises is built
    here, so each names the endpoint and model, says how to fix it, and never carries the
    key (``secret`` is scrubbed from every text and left out of ``repr``)."""

    provider: str
    url: str
    model: str
    timeout: float
    max_retries: int
    key_env: str | None = None
    secret: str = field(default="", repr=False, compare=False)

    def scrub(self, text: object) -> str:
        """One line of at most ~240 characters with the key replaced by ``***``."""
        line = " ".join(str(text).split())
        if self.secret:
            line = line.replace(self.secret, "***")
        return line if len(line) <= _DETAIL_CHARS else line[: _DETAIL_CHARS - 3] + "..."

    def _error(
        self, kind: LLMErrorKind, message: str, hint: str, usage: Usage | None = None
    ) -> LLMError:
        return LLMError(self.scrub(message), kind=kind, hint=self.scrub(hint), usage=usage)

    @property
    def where(self) -> str:
        return f"{self.provider} endpoint {endpoint_label(self.url)} (model '{self.model}')"

    def status_error(self, status: int, detail: str, *, code: str = "") -> LLMError:
        """An HTTP error the SDK gave up on (after its retries, for 429 and 5xx)."""
        said = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
        env = f"${self.key_env}" if self.key_env else "the configured key variable"
        retries = self.max_retries
        tried = (
            f"after {retries} retr{'y' if retries == 1 else 'ies'}"
            if retries
            else "with retries off"
        )
        if status in (401, 403):
            return self._error(
                "auth", f"{self.where} rejected the API key ({said})", f"check the key in {env}"
            )
        if status == 404:
            return self._error(
                "model_not_found",
                f"{self.where} does not know that model or path ({said})",
                "check [propose.llm] model, and that base_url is the API root "
                + (
                    "(without /v1, e.g. https://api.anthropic.com)"
                    if self.provider == "anthropic"
                    else "(OpenAI-compatible servers usually end in /v1)"
                ),
            )
        if status in (429, 529):
            return self._error(
                "rate_limited",
                f"{self.where} is still rate-limiting {tried} ({said})",
                "wait and run again, lower [propose.llm] samples, or raise max_retries",
            )
        if "content_filter" in code or "content_policy" in code or "content management" in detail:
            return self.refused(said)
        if status >= 500:
            return self._error(
                "unreachable",
                f"{self.where} keeps failing {tried} ({said})",
                "the server is in trouble; try again later or check its logs",
            )
        return self._error(
            "bad_response",
            f"{self.where} refused the request ({said})",
            "check [propose.llm] model and max_output_tokens against what the server supports",
        )

    def unreachable(self, detail: str) -> LLMError:
        return self._error(
            "unreachable",
            f"cannot reach {self.where}: {detail or 'connection failed'}",
            "check that the server is running and [propose.llm] base_url is right",
        )

    def timed_out(self) -> LLMError:
        tries = self.max_retries + 1
        return self._error(
            "timeout",
            f"{self.where} did not answer within {self.timeout:g}s "
            f"({tries} attempt{'s' if tries > 1 else ''})",
            "raise [propose.llm] timeout or use a faster model",
        )

    def bad_response(self, detail: str, usage: Usage | None = None) -> LLMError:
        return self._error(
            "bad_response",
            f"{self.where} sent an answer that is not a valid reply: {detail}",
            f"check that base_url points at the {self.provider} API or a server compatible with it",
            usage,
        )

    def refused(self, detail: str, usage: Usage | None = None) -> LLMError:
        return self._error(
            "refused",
            f"{self.where} declined to answer: {detail or 'content filter'}",
            "the prompt tripped the provider's content filter; try another model",
            usage,
        )
