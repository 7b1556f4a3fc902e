"""An example customer-support agent for Theseus: deterministic, no LLM, with seeded bugs.

``support_agent.app:handle(message, state) -> reply`` is the entrypoint; see app.py for the
message, reply and session-state formats, and SEEDED_BUGS.md for the bugs planted on purpose.
"""
