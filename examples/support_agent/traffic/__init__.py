"""Realistic, deterministic customer traffic for the example support agent.

Three parts, kept apart so the same conversations can be sent in-process or over HTTP:

- ``generate``: seeded sessions of several messages each, with the facts each message states
  (which order, which items, which currencies) so the right answer can be known;
- ``oracle``: a reference that computes the right reply for a message, written independently
  of the agent's skills (it reads the shop data itself);
- ``drive``: sends each session's messages through a ``Sender``, compares replies with the
  oracle and reports wrong answers with ``theseus.report_failure``.

Run ``python -m traffic --sessions 200 --seed 7 --json`` in the example's folder.
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
