"""Run the test suite's fake provider in its own process, for the benchmarks.

``python -m bench.fake_provider --chunks 40 --delay 0.05 --first-delay 0.05`` prints the base
URL (``http://127.0.0.1:PORT``) on one line, then serves until terminated. A process of its
own keeps the fake's CPU (threads, one per stream) out of the benchmark client's event loop.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

from tests.fakes import provider_server
from tests.fakes.provider_server import FakeProviderServer


def reply_chunks(count: int) -> list[str]:
    """The streamed answer: ``count`` small text chunks ("w0 ", "w1 ", ...)."""
    return [f"w{i} " for i in range(count)]


ARRIVALS_PATH = "/bench/arrivals"


def record_arrivals(fake: FakeProviderServer) -> None:
    """Timestamp every request (wall clock, comparable across processes on this machine) and
    serve ``GET /bench/arrivals``: ``{last user message: arrival time}`` for the chat
    requests so far. The benchmark learns when Calango's request reached the provider."""
    arrivals: dict[str, float] = {}
    record = fake._record

    def timed_record(entry: dict[str, Any]) -> None:
        messages = (entry.get("json") or {}).get("messages") or []
        if messages and isinstance(messages[-1].get("content"), str):
            arrivals[messages[-1]["content"]] = time.time()
        record(entry)

    fake._record = timed_record  # type: ignore[method-assign]
    do_get = provider_server._Handler.do_GET

    def do_get_with_arrivals(handler: provider_server._Handler) -> None:
        if handler.path != ARRIVALS_PATH:
            do_get(handler)
            return
        handler._send_json(200, json.dumps(arrivals))

    provider_server._Handler.do_GET = do_get_with_arrivals  # type: ignore[method-assign]


def main() -> None:
    """Start the fake with the scripted reply and serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=10, help="text chunks per answer")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--first-delay", type=float, default=0.05, help="seconds to 1st chunk")
    args = parser.parse_args()
    # socketserver's default listen backlog is 5: a burst of 200 connections would have SYNs
    # dropped and retried after 1 s, which is the fake's artefact, not Calango's.
    provider_server._Server.request_queue_size = 1024
    fake = FakeProviderServer()
    record_arrivals(fake)
    fake.start()
    fake.script(chunks=reply_chunks(args.chunks), delay=args.delay, first_delay=args.first_delay)
    print(fake.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
