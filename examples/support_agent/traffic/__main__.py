"""``python -m traffic [--sessions N] [--seed N] [--json] [--progress]`` in the example folder."""

from __future__ import annotations

import argparse
import json
import sys

from traffic.drive import drive_in_process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m traffic", description=__doc__)
    parser.add_argument("--sessions", type=int, default=200, help="conversations to play")
    parser.add_argument("--seed", type=int, default=7, help="seed of the conversations")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.add_argument("--no-report", action="store_true", help="do not report wrong answers")
    parser.add_argument(
        "--progress", action="store_true", help="print 'progress DONE TOTAL' lines on stderr"
    )
    args = parser.parse_args(argv)
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    total = args.sessions

    def tick(done: int) -> None:
        if args.progress:
            print(f"progress {done} {total}", file=sys.stderr, flush=True)

    outcome = drive_in_process(total, args.seed, report=not args.no_report, on_session=tick)
    if args.json:
        print(json.dumps(outcome.as_dict()))
    else:
        for key, value in outcome.as_dict().items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
