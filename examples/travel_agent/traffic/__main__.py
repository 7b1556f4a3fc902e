"""``python -m traffic`` in the example folder: play travellers' conversations, judge the replies.

In-process by default (``handle`` called here, with the stand-in model ``model_server``
started in this process and ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` set for the agent); with
``--url`` over HTTP to the agent served by ``theseus serve``, which must have been started
with those two variables pointing at a running model (``python -m model_server``).
``--sessions N`` plays N conversations of ``--seed``; ``--seconds S`` keeps fresh
conversations flowing for S seconds (at most N with ``--sessions``), the demo's background
traffic during evolution. Over HTTP every run's session ids are its own (a random tag),
since the service remembers sessions it has seen. SIGTERM or Ctrl-C ends a run after the
messages in flight and still prints the outcome. Wrong answers go to the evidence store
(``THESEUS_EVIDENCE_DB``, else the project's) unless ``--no-report``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from traffic.drive import Sender, drive, http_sender, in_process_sender
from traffic.flow import fresh_scripts, tagged, until
from traffic.generate import Script, generate

DEFAULT_SESSIONS = 120


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m traffic", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="send over HTTP to this service (http://host:port)")
    parser.add_argument(
        "--sessions", type=int, default=None, help=f"conversations to play ({DEFAULT_SESSIONS})"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the conversations")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="sessions at a time (needs --url)"
    )
    parser.add_argument("--seconds", type=float, default=None, help="keep sending this long")
    parser.add_argument("--rate", type=float, default=None, help="messages per second, at most")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.add_argument("--no-report", action="store_true", help="do not report wrong answers")
    parser.add_argument(
        "--progress", action="store_true", help="print 'progress DONE TOTAL' lines on stderr"
    )
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.sessions is not None and args.sessions < 1:
        parser.error("--sessions must be at least 1")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.concurrency > 1 and args.url is None:
        parser.error("--concurrency above 1 needs --url (in-process calls run one at a time)")
    if args.seconds is not None and not (math.isfinite(args.seconds) and args.seconds > 0):
        parser.error("--seconds must be a positive number")
    if args.rate is not None and not (math.isfinite(args.rate) and args.rate > 0):
        parser.error("--rate must be a positive number of messages per second")
    if args.url is not None:
        parts = urlsplit(args.url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            parser.error(f"--url {args.url!r} is not an http(s) URL such as http://127.0.0.1:8710")


def _scripts(args: argparse.Namespace) -> tuple[Iterable[Script], int]:
    """The conversations to play, and how many ('0' when open-ended)."""
    if args.seconds is None:
        total = args.sessions or DEFAULT_SESSIONS
        scripts = generate(total, args.seed)
        return (scripts if args.url is None else tagged(scripts)), total
    stream: Iterable[Script] = fresh_scripts(args.seed)
    if args.sessions is not None:
        stream = itertools.islice(stream, args.sessions)
    return until(stream, time.monotonic() + args.seconds), args.sessions or 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    scripts, total = _scripts(args)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def tick(done: int) -> None:
        if args.progress:
            print(f"progress {done} {total}", file=sys.stderr, flush=True)

    import theseus

    reporter = None if args.no_report else theseus.report_failure
    sender: Sender
    if args.url is not None:
        sender = http_sender(args.url, connections=args.concurrency)
    else:
        sender = in_process_sender()
    try:
        outcome = drive(
            scripts, sender, reporter, tick,
            concurrency=args.concurrency, rate=args.rate, stop=stop,
        )  # fmt: skip
    finally:
        close = getattr(sender, "close", None)
        if close is not None:
            close()
    _print(outcome.as_dict(), as_json=args.json)
    return 0


def _print(data: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(data), flush=True)
    else:
        for key, value in data.items():
            print(f"{key}: {value}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
