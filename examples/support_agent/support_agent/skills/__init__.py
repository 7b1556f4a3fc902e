"""The agent's skills: order lookup, delivery dates, refunds and unit/currency handling.

Each skill takes plain values (ids, dates, amounts) and returns a reply built with
``support_agent.replies``; the router decides which skill a message needs.
"""
