"""A deterministic local "model" speaking the OpenAI chat-completions API: the demo's
stand-in for a real language model.

It is NOT a language model. It answers ``POST /v1/chat/completions`` (and ``GET /v1/models``)
well enough for the official ``openai`` SDK to parse, choosing a tool call or a short text
reply with fixed rules over the last user message (``rules.py``). That makes the example
runnable offline and its traffic judgeable, while the agent itself is written exactly as it
would be against a real model: point ``OPENAI_BASE_URL`` at a real provider and the agent
does not change.

``python -m model_server --port 8711 [--api-key demo-key]`` serves it; ``serve(port)`` starts
it in a background thread (tests, the traffic's in-process mode). A request whose
``Authorization: Bearer <key>`` is not the server's key gets 401, as from a provider.
"""

from model_server.server import DEFAULT_KEY, DEFAULT_PORT, base_url, serve

__all__ = ["DEFAULT_KEY", "DEFAULT_PORT", "base_url", "serve"]
