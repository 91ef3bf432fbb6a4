"""Many simultaneous streams through gunicorn with the README's settings.

``python -m bench.concurrency --streams 200``: that many clients, each with its own cookie
session and CSRF token (fetched before the timed part), send one message each and read the
answer's stream to ``done``. The fake provider streams ``--chunks`` chunks ``--delay`` apart
(40 × 0.05 s ≈ 2 s per answer) after ``--first-delay``. By default all clients send at the
same instant (a burst); ``--ramp S`` spreads the sends evenly over S seconds instead.

Per stream: added time to first token = Calango's TTFT - the direct TTFT measured against the
fake before the run (its median: ``first_delay`` plus the fake's own overhead). Errors: a POST
other than 201, a stream without ``done``, a final status other than ``complete``. Afterwards
every assistant row must be ``complete`` with the full text. Goal on 2 cores: no errors, p95
added TTFT ≤ ``--goal-ms`` (150 ms by default), every answer saved.

The client is gevent + ``http.client`` in this process; it shares the machine's cores with
gunicorn, PostgreSQL and the fake, and its CPU time is reported so that can be judged.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402
from gevent.pool import Pool  # noqa: E402

from bench.common import (  # noqa: E402
    BenchError,
    Client,
    FakeConfig,
    Stack,
    StreamResult,
    add_stack_arguments,
    cpu_seconds,
    direct_ttft,
    percentile,
    postgres_cpu,
    summary,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=50, help="simultaneous clients")
    parser.add_argument("--ramp", type=float, default=0.0, help="spread the sends over S s")
    parser.add_argument(
        "--goal-ms", type=float, default=150.0, help="the p95 added TTFT goal (default 150)"
    )
    add_stack_arguments(parser, chunks=40, delay=0.05)
    return parser.parse_args(argv)


class Probe:
    """Direct requests to the fake during the load: is the fake itself slowed down?"""

    def __init__(self, fake_url: str) -> None:
        self.fake_url = fake_url
        self.samples: list[float] = []
        self.stopped = False

    def run(self) -> None:
        """Measure every 0.25 s until stopped."""
        while not self.stopped:
            with contextlib.suppress(OSError, BenchError):
                self.samples.append(direct_ttft(self.fake_url))
            gevent.sleep(0.25)


def run_load(
    stack: Stack, args: argparse.Namespace
) -> tuple[list[StreamResult], float, int, dict[str, float], list[float]]:
    """Prepare the clients, fire them, wait for every stream; return the results, the wall
    time, the peak number of open streams, CPU seconds per party and the probe's samples."""
    clients = [
        Client(stack.host, stack.port, fresh_connections=args.fresh_connections)
        for _ in range(args.streams)
    ]
    clients[0].prepare()  # signs in when the app has accounts: one session for all of them
    for client in clients[1:]:
        client.share_session(clients[0])

    go = Event()
    open_streams = 0
    peak = 0

    def one(index: int, client: Client) -> StreamResult:
        nonlocal open_streams, peak
        go.wait()
        if args.ramp:
            gevent.sleep(args.ramp * index / args.streams)
        open_streams += 1
        peak = max(peak, open_streams)
        try:
            return client.send_and_follow(f"Hello from client {index}")
        finally:
            open_streams -= 1

    workers = stack.worker_pids()
    fake_pid = stack.fake_process.pid if stack.fake_process else 0

    def cpu() -> dict[str, dict[int, float]]:
        # PostgreSQL backends are listed each time: the pools open new ones under load.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "gunicorn workers": {p: cpu_seconds(p) for p in workers},
            "postgresql": postgres_cpu(),
            "fake provider": {fake_pid: cpu_seconds(fake_pid)},
            "bench client": {0: usage.ru_utime + usage.ru_stime},
        }

    greenlets = [gevent.spawn(one, i, c) for i, c in enumerate(clients)]
    probe = Probe(stack.fake_url)
    before = cpu()
    started = time.perf_counter()
    go.set()
    probe_greenlet = gevent.spawn(probe.run)
    gevent.joinall(greenlets)
    wall = time.perf_counter() - started
    probe.stopped = True
    probe_greenlet.join()
    after = cpu()
    used = {
        name: sum(v - before[name].get(p, 0.0) for p, v in after[name].items()) for name in after
    }
    return [g.value for g in greenlets], wall, peak, used, probe.samples


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; exit status 1 when a goal is missed."""
    args = parse_args(argv)
    fake = FakeConfig(chunks=args.chunks, delay=args.delay, first_delay=args.first_delay)
    with Stack(fake=fake, db=args.db, workers=args.workers) as stack:
        warm = Client(stack.host, stack.port)
        warm.prepare()
        # Import paths, connection pools, the settings row: one message first (it creates
        # the settings row), then a few at once so that both workers are warm.
        first = warm.send_and_follow("warm-up")
        others = Pool(10).map(lambda i: warm.send_and_follow(f"warm-up {i}"), range(10))
        for result in [first, *others]:
            if result.error:
                raise SystemExit(f"warm-up failed: {result.error}")
        baseline = statistics.median(direct_ttft(stack.fake_url) for _ in range(10))
        warm_rows = len(stack.assistant_rows())

        results, wall, peak, used, probe = run_load(stack, args)

        rows = stack.assistant_rows()[warm_rows:]
        problems = stack.log_problems()

    failed = [r for r in results if r.error or r.status != "complete"]
    good = [r for r in results if r not in failed]
    added = [r.ttft - baseline for r in good]
    late = sum(1 for r in good if r.deltas == 1 and r.text == fake.reply)
    writes = sorted(r.deltas for r in good) or [0]
    saved = sum(1 for row in rows if row["status"] == "complete" and row["content"] == fake.reply)
    lost = len(rows) - saved
    producer = [row["ttft_ms"] / 1000 for row in rows if row["ttft_ms"] is not None]
    mode = f"ramp {args.ramp}s" if args.ramp else "burst"
    print(
        f"concurrency: {args.streams} streams ({mode}), db={args.db}, workers={args.workers}, "
        f"{'fresh' if args.fresh_connections else 'keep-alive'} connections"
    )
    print(
        f"  fake: {args.chunks} chunks × {args.delay}s, first_delay {args.first_delay}s; "
        f"direct baseline TTFT {baseline * 1000:.1f} ms"
    )
    print(f"wall time {wall:.2f} s; peak open streams {peak}")
    print(f"errors: {len(failed)}")
    for r in failed[:5]:
        print(f"  {r.error or 'status ' + str(r.status)}")
    print(f"added TTFT              {summary(added)}")
    print(f"  POST → 201            {summary([r.posted - r.started for r in good])}")
    print(f"  201 → stream headers  {summary([r.stream_open - r.posted for r in good])}")
    print(f"  headers → first text  {summary([r.first_delta - r.stream_open for r in good])}")
    print(f"  producer's own TTFT   {summary(producer)}  (provider request → first token)")
    print(f"  direct probe in load  {summary(probe)}")
    print(f"answer duration         {summary([r.done - r.started for r in good])}")
    print(
        f"text writes per answer (framed every 50 ms): median {writes[len(writes) // 2]} "
        f"for {args.chunks} chunks; "
        f"opened after the answer had ended: {late}"
    )
    print(f"answers saved complete: {saved}/{len(rows)} rows for {args.streams} messages")
    print("CPU seconds during the load: " + ", ".join(f"{k} {v:.2f}" for k, v in used.items()))
    print(f"gunicorn log problems: {len(problems)}")
    for line in problems[:5]:
        print(f"  {line[:200]}")
    p95_ms = percentile(added, 95) * 1000
    complete = not failed and not lost and len(rows) == args.streams
    met = complete and p95_ms <= args.goal_ms
    print(
        f"goal {args.streams} {mode} p95 added ≤ {args.goal_ms:.0f} ms, 0 errors, all saved: "
        f"{p95_ms:.1f} ms, {len(failed)} errors, {saved}/{args.streams} saved — "
        f"{'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
