"""Realistic, deterministic traveller traffic for the example travel agent.

Four parts, kept apart so the same conversations can be sent in-process or over HTTP:

- ``generate``: seeded conversations of several messages each, with the facts each message
  states (route, dates, guests, booking, loyalty number) so the right answer can be known;
- ``world`` and ``oracle``: the traffic's own view of the bundled data, and a reference that
  states the facts of the right reply, written independently of the agent's code;
- ``drive``: sends each conversation's messages through a ``Sender``, compares replies with
  the oracle's facts (a partial match) and reports wrong answers with
  ``theseus.report_failure``.

Run ``python -m traffic --sessions 120 --seed 7 --json`` in the example's folder.
"""

from traffic.drive import Outcome, Result, drive, drive_in_process, in_process_sender
from traffic.generate import Script, Turn, generate

__all__ = [
    "Outcome",
    "Result",
    "Script",
    "Turn",
    "drive",
    "drive_in_process",
    "generate",
    "in_process_sender",
]
