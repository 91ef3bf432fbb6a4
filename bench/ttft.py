"""Time to first token added by Calango over calling the provider directly.

``python -m bench.ttft [--requests 50]``: gunicorn with the README's settings in front of a
fresh database and the fake provider. Requests are sequential and interleaved:

* direct: connect to the fake, POST a streamed chat completion, until the first content delta;
* via Calango: POST /chats/messages (a new chat) like the browser script, then open the
  answer's stream (GET, Server-Sent Events) and wait for the first text delta.

Both see the same scripted provider latency (``--first-delay``); the difference is what
Calango adds. Goal: median added ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from bench.common import (
    Client,
    FakeConfig,
    Stack,
    StreamResult,
    add_stack_arguments,
    direct_ttft,
    provider_arrivals,
    summary,
)

GOAL_MS = 5.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="measured pairs (default 50)")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured pairs first")
    add_stack_arguments(parser, chunks=10, delay=0.01)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; exit status 1 when the goal is missed."""
    args = parse_args(argv)
    fake = FakeConfig(chunks=args.chunks, delay=args.delay, first_delay=args.first_delay)
    with Stack(fake=fake, db=args.db, workers=args.workers) as stack:
        client = Client(stack.host, stack.port, fresh_connections=args.fresh_connections)
        client.prepare()
        direct: list[float] = []
        via: list[StreamResult] = []
        for index in range(args.warmup + args.requests):
            d = direct_ttft(stack.fake_url)
            r = client.send_and_follow(f"Hello number {index}")
            if r.error or r.status != "complete":
                print(f"request {index} failed: {r.error or r.status}", file=sys.stderr)
                return 2
            if index >= args.warmup:
                direct.append(d)
                via.append(r)
        rows = stack.assistant_rows()[args.warmup :]
        arrivals = provider_arrivals(stack.fake_url)
        problems = stack.log_problems()

    calango = [r.ttft for r in via]
    added = [r.ttft - d for r, d in zip(via, direct, strict=True)]
    late = sum(1 for r in via if r.deltas == 1 and r.text == fake.reply)
    writes = sorted(r.deltas for r in via) or [0]
    producer = [row["ttft_ms"] / 1000 for row in rows if row["ttft_ms"] is not None]
    print(f"ttft: {args.requests} sequential requests, db={args.db}, workers={args.workers}, ")
    print(f"  fake: {args.chunks} chunks, first_delay {args.first_delay}s, delay {args.delay}s")
    print(f"direct to the fake      {summary(direct)}")
    print(f"via Calango             {summary(calango)}")
    print(f"added by Calango        {summary(added)}")
    to_provider = [r.to_provider(arrivals[r.prompt]) for r in via]
    after = [r.ttft - t - args.first_delay for r, t in zip(via, to_provider, strict=True)]
    print("  where it goes:")
    print(f"  POST → provider asked {summary(to_provider)}")
    print(f"  provider's 1st token → client  {summary(after)}")
    print("  client side:")
    print(f"  POST → 201            {summary([r.posted - r.started for r in via])}")
    print(f"  201 → stream headers  {summary([r.stream_open - r.posted for r in via])}")
    print(f"  headers → first text  {summary([r.first_delta - r.stream_open for r in via])}")
    print(f"  producer's own TTFT   {summary(producer)}  (provider request → first token)")
    print(
        f"text writes per answer (framed every 50 ms): median {writes[len(writes) // 2]} "
        f"for {args.chunks} chunks; "
        f"opened after the answer had ended: {late}"
    )
    saved = sum(1 for row in rows if row["status"] == "complete" and row["content"] == fake.reply)
    print(f"answers saved complete: {saved}/{len(rows)}; log problems: {len(problems)}")
    median_added_ms = statistics.median(added) * 1000
    met = median_added_ms <= GOAL_MS and saved == len(rows)
    print(
        f"goal median added TTFT ≤ {GOAL_MS:.0f} ms, all saved: {median_added_ms:.1f} ms, "
        f"{saved}/{len(rows)} saved — {'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
