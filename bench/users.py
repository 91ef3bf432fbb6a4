"""50 people chatting at once, at human pace, through gunicorn on PostgreSQL.

``python -m bench.users``: ``--users`` (50) people each hold one conversation of ``--turns``
(10) messages: send, read the streamed answer to its end, think for ``--think`` seconds
(uniformly random between the two bounds, 3–8 s by default), send the next message in the
same chat. Their starts are spread over ``--ramp`` seconds, so at any moment some are
reading, some typing, some waiting for the first token, as in an office.

When the app has accounts (``flask calango create-user`` exists), each person is a distinct
user created with it and logs in through the login page; otherwise every person is an
anonymous browser with its own cookie session (SERVER mode without accounts).

Figures: added time to first token (Calango's TTFT minus the fake's own, measured directly
before the load), errors, and afterwards, counted in the database: one chat per person, one
user and one assistant row per turn, no duplicate, every answer complete with the full text.
The gunicorn workers' CPU seconds and memory (RSS now and peak, from /proc) are printed.
Goal on 2 cores: 0 errors, 0 lost or duplicated rows, p95 added TTFT ≤ 150 ms.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

from bench.common import (  # noqa: E402
    BIN,
    MODEL,
    PROVIDER_NAME,
    ROOT,
    BenchError,
    Client,
    FakeConfig,
    Stack,
    StreamResult,
    add_stack_arguments,
    cpu_seconds,
    create_account,
    direct_ttft,
    percentile,
    postgres_cpu,
    summary,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="people chatting (default 50)")
    parser.add_argument("--turns", type=int, default=10, help="messages per person (10)")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(3.0, 8.0),
        metavar=("MIN", "MAX"),
        help="seconds between reading an answer and sending the next message (3 8)",
    )
    parser.add_argument("--ramp", type=float, default=10.0, help="spread the starts over S s")
    parser.add_argument("--seed", type=int, default=11, help="random seed of the think times")
    add_stack_arguments(parser, chunks=30, delay=0.03)
    return parser.parse_args(argv)


class Person(Client):
    """One person's browser: logs in when there are accounts, then chats in one chat."""

    chat_id: str | None = None

    def turn(self, text: str) -> StreamResult:
        """Send ``text`` (in this person's chat after the first turn) and read the answer's
        stream to its end, on one keep-alive connection like a browser."""
        result = StreamResult(prompt=text, started=time.perf_counter(), started_wall=time.time())
        url = f"/chats/{self.chat_id}/messages" if self.chat_id else "/chats/messages"
        conn = self._connect()
        try:
            body = urllib.parse.urlencode(
                {
                    "csrf_token": self.csrf,
                    "content": text,
                    "provider": PROVIDER_NAME,
                    "model": MODEL,
                    "persona": "",
                }
            )
            headers = self._headers(
                **{
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                }
            )
            conn.request("POST", url, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            self._remember_cookie(response)
            result.posted = time.perf_counter()
            if response.status != 201:
                raise BenchError(f"POST answered {response.status}: {payload[:200]!r}")
            data = json.loads(payload)
            self.chat_id = data["chat_id"]
            match = re.search(r'data-stream-url="([^"]+)"', data["html"])
            if not match:
                raise BenchError("no stream URL in the answer bubble")
            self._follow(conn, match.group(1).replace("&amp;", "&"), result)
        except (OSError, http.client.HTTPException, ValueError, KeyError, BenchError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        return result


def has_accounts(env: dict[str, str]) -> bool:
    """Whether this version of Calango has ``flask calango create-user``."""
    result = subprocess.run(
        [str(BIN / "flask"), "calango", "create-user", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def create_users(env: dict[str, str], emails: list[str]) -> None:
    """Create every person's account (password on stdin, as an admin would type it)."""
    for email in emails:
        create_account(env, email)


def memory_kib(pid: int) -> tuple[int, int]:
    """(resident, peak resident) KiB of process ``pid`` from /proc (0, 0 when gone)."""
    values = {"VmRSS": 0, "VmHWM": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _sep, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


def count_rows(database_url: str, reply: str) -> dict[str, int]:
    """What the database holds (``reply``: the fake's full answer, as every answer must be)."""
    import psycopg2

    queries = {
        "chats": "SELECT count(*) FROM chat_sessions",
        "user rows": "SELECT count(*) FROM chat_messages WHERE role = 'user'",
        "assistant rows": "SELECT count(*) FROM chat_messages WHERE role = 'assistant'",
        "distinct user texts": (
            "SELECT count(DISTINCT (session_id, content)) FROM chat_messages WHERE role = 'user'"
        ),
        "not complete": (
            "SELECT count(*) FROM chat_messages WHERE role = 'assistant' AND status <> 'complete'"
        ),
    }
    conn = psycopg2.connect(database_url.replace("+psycopg2", ""))
    try:
        with conn.cursor() as cursor:
            counts = {}
            for name, query in queries.items():
                cursor.execute(query)
                counts[name] = int(cursor.fetchone()[0])
            cursor.execute(
                "SELECT count(*) FROM chat_messages WHERE role = 'assistant' AND content <> %s",
                (reply,),
            )
            counts["wrong text"] = int(cursor.fetchone()[0])
    finally:
        conn.close()
    return counts


def run(stack: Stack, args: argparse.Namespace, people: list[Person]) -> list[list[StreamResult]]:
    """Every person's conversation, concurrently; their results turn by turn."""
    rng = random.Random(args.seed)
    thinks = [[rng.uniform(*args.think) for _ in range(args.turns)] for _ in people]

    def converse(index: int, person: Person) -> list[StreamResult]:
        gevent.sleep(args.ramp * index / max(1, len(people)))
        results = []
        for turn in range(args.turns):
            results.append(person.turn(f"Person {index} says hello, turn {turn + 1}"))
            if turn + 1 < args.turns:
                gevent.sleep(thinks[index][turn])
        return results

    greenlets = [gevent.spawn(converse, i, p) for i, p in enumerate(people)]
    gevent.joinall(greenlets)
    return [g.value for g in greenlets]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures; exit status 1 when a goal is missed."""
    args = parse_args(argv)
    if args.db != "postgresql":
        raise SystemExit("bench.users runs on PostgreSQL (SERVER mode)")
    fake = FakeConfig(chunks=args.chunks, delay=args.delay, first_delay=args.first_delay)
    with Stack(fake=fake, db="postgresql", workers=args.workers) as stack:
        emails = [f"person{i:02d}@bench.example" for i in range(args.users)]
        accounts = has_accounts(stack.env)
        if accounts:
            create_users(stack.env, emails)
        people = [Person(stack.host, stack.port) for _ in emails]
        for person, email in zip(people, emails, strict=True):
            person.sign_in(email)
        # Warm up both workers (import paths, pools, the settings row) in chats of their own,
        # which the counts below leave out.
        warm = Person(stack.host, stack.port)
        warm.sign_in(emails[0])
        for i in range(4):
            warm.chat_id = None
            if warm.turn(f"warm-up {i}").error:
                raise SystemExit("warm-up failed")
        before = count_rows(stack.database_url, fake.reply)
        baseline = statistics.median(direct_ttft(stack.fake_url) for _ in range(10))

        workers = stack.worker_pids()
        cpu_before = {p: cpu_seconds(p) for p in workers}
        pg_before = postgres_cpu()
        started = time.perf_counter()
        conversations = run(stack, args, people)
        wall = time.perf_counter() - started
        cpu_used = sum(cpu_seconds(p) - cpu_before.get(p, 0.0) for p in workers)
        pg_used = sum(v - pg_before.get(p, 0.0) for p, v in postgres_cpu().items())
        memory = {p: memory_kib(p) for p in workers}
        after = count_rows(stack.database_url, fake.reply)
        counts = {k: after[k] - before[k] for k in after}
        problems = stack.log_problems()

    results = [r for conversation in conversations for r in conversation]
    failed = [r for r in results if r.error or r.status != "complete"]
    good = [r for r in results if r not in failed]
    added = [r.ttft - baseline for r in good]
    expected = args.users * args.turns
    lost_or_dup = (
        abs(counts["user rows"] - expected)
        + abs(counts["assistant rows"] - expected)
        + (counts["user rows"] - counts["distinct user texts"])
        + counts["not complete"]
        + counts["wrong text"]
        + abs(counts["chats"] - args.users)
    )
    print(
        f"users: {args.users} {'logged-in users' if accounts else 'anonymous browsers'} × "
        f"{args.turns} turns, think {args.think[0]:g}–{args.think[1]:g} s, ramp {args.ramp:g} s, "
        f"workers={args.workers}, db=postgresql"
    )
    print(
        f"  fake: {args.chunks} chunks × {args.delay}s, first_delay {args.first_delay}s; "
        f"direct baseline TTFT {baseline * 1000:.1f} ms"
    )
    print(f"wall time {wall:.1f} s; {len(results)} messages ({len(results) / wall:.2f}/s)")
    print(f"errors: {len(failed)}")
    for r in failed[:5]:
        print(f"  {r.error or 'status ' + str(r.status)}")
    print(f"added TTFT              {summary(added)}")
    print(f"  POST → 201            {summary([r.posted - r.started for r in good])}")
    print(f"answer duration         {summary([r.done - r.started for r in good])}")
    print("rows after: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(
        f"lost or duplicated rows: {lost_or_dup} (expected {expected} of each, {args.users} chats)"
    )
    print(
        f"gunicorn workers CPU {cpu_used:.1f} s over {wall:.1f} s "
        f"({cpu_used / wall:.0%} of a core); "
        f"PostgreSQL CPU {pg_used:.1f} s"
    )
    for pid, (rss, peak) in memory.items():
        print(f"  worker {pid}: RSS {rss / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB")
    print(f"gunicorn log problems: {len(problems)}")
    for line in problems[:5]:
        print(f"  {line[:200]}")
    p95_ms = percentile(added, 95) * 1000
    met = not failed and not lost_or_dup and p95_ms <= 150
    print(
        f"goal (0 errors, 0 lost/duplicated rows, p95 added TTFT ≤ 150 ms): "
        f"{'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
