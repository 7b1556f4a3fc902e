"""``python -m model_server``: serve the stand-in model until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from model_server.server import DEFAULT_KEY, DEFAULT_PORT, base_url, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"({DEFAULT_PORT})")
    parser.add_argument(
        "--api-key", default=DEFAULT_KEY, help=f"the key clients must send ({DEFAULT_KEY!r})"
    )
    args = parser.parse_args(argv)
    server, thread = serve(args.port, host=args.host, api_key=args.api_key)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"model server on {base_url(server)} (OPENAI_BASE_URL)", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
