"""Search-based program repair: localise from tracebacks and coverage, mutate, validate.

The embedded, offline proposer: no LLM, no network, deterministic. See engine.repair for
the whole pipeline and proposer.RepairProposer for its place in the Theseus flow.
"""
