"""``[propose.llm]`` -> a ready :class:`ChatClient`, with the key taken from the environment.

The key is never written in ``theseus.toml``: the config names an environment variable
(``api_key_env``) and this module reads it at the moment a client is made. A missing or
empty variable is an :class:`LLMError` of kind ``missing_key`` that names the variable, so
the cycle can say so in one line and carry on with the other proposers.

Local servers (Ollama, vLLM, llama.cpp, LM Studio) usually ignore the key. The variable is
still required for them, deliberately: one rule for every endpoint, and no way to send a
real key to the wrong place by leaving it out. Any value will do, e.g.
``export OPENAI_API_KEY=local``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from theseus.config import LLMSettings
from theseus.endpoints import BASE_URL_HINT, base_url_problem
from theseus.propose.llm.client import ChatClient, LLMError

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_key(llm: LLMSettings, env: Mapping[str, str] | None = None) -> str:
    """The API key from the variable named in ``llm.api_key_env`` (surrounding blanks cut)."""
    name = llm.api_key_env
    if not _ENV_NAME.fullmatch(name):
        # It may be the key itself pasted in by mistake: never echo it.
        raise LLMError(
            "[propose.llm] api_key_env must be the NAME of an environment variable "
            f"(letters, digits, '_'), not a key; it has {len(name)} characters that are not one",
            kind="missing_key",
            hint='write e.g. api_key_env = "OPENAI_API_KEY" and export the key in that variable',
        )
    source = os.environ if env is None else env
    value = source.get(name)
    if value is None or not value.strip():
        state = "is not set" if value is None else "is empty"
        raise LLMError(
            f"no API key for {llm.provider} model '{llm.model}': ${name} {state}",
            kind="missing_key",
            hint=f"export {name}=<your key> (a local server that needs none accepts any value)",
        )
    return value.strip()


def check_base_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host (or None); else an LLMError of
    kind ``unreachable`` naming the problem."""
    if url is None:
        return None
    problem = base_url_problem(url)
    if problem is not None:
        raise LLMError(problem, kind="unreachable", hint=BASE_URL_HINT)
    return url.strip()


def make_client(llm: LLMSettings, *, env: Mapping[str, str] | None = None) -> ChatClient:
    """A client for ``llm`` (provider, model, endpoint, timeout, retries, output cap).

    Raises :class:`LLMError` (``missing_key`` or ``unreachable`` for a malformed base_url)
    before any network traffic; a wrong key or unknown model shows on the first call.
    """
    base_url = check_base_url(llm.base_url)
    key = read_key(llm, env)
    # Imported here: each SDK takes a second or more to import, and only a client needs one.
    try:
        from theseus.propose.llm.anthropic_client import AnthropicChatClient
        from theseus.propose.llm.openai_client import OpenAIChatClient
    except ImportError as exc:
        raise LLMError(
            f"the model SDKs are not installed ({exc.name or 'import failed'})",
            kind="not_installed",
            hint='pip install "theseus-evolve[llm]" into this environment',
        ) from None
    kind = AnthropicChatClient if llm.provider == "anthropic" else OpenAIChatClient
    return kind(
        model=llm.model,
        api_key=key,
        base_url=base_url,
        timeout=llm.timeout,
        max_retries=llm.max_retries,
        max_output_tokens=llm.max_output_tokens,
        key_env=llm.api_key_env,
    )
