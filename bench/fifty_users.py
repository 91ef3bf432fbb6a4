"""50 signed-in users, each holding a 10-turn conversation at human pace, through gunicorn
(``gunicorn.conf.py``) on PostgreSQL, against a fake provider with realistic token pacing.

``python -m bench.fifty_users`` (``make bench-users``). The stack (a fresh PostgreSQL database
migrated with ``flask db upgrade``, the fake provider in its own process, gunicorn with the
README's settings) is ``bench.common.Stack``; a person's browser (login form, send, follow the
stream) is ``bench.users.Person``. This script adds the accounts and the figures:

1. Setup: 50 accounts: the first with ``flask calango create-user`` when the app has it, the
   others (all of them without it) inserted through the app's models in one process (one
   ``flask`` process per account would take minutes on 2 cores).
2. Each person logs in through the login form (``POST /login`` with email, password,
   csrf_token) when the app shows one; an app without a login page is used without.
3. Each holds ``--turns`` (10) turns: send, read the streamed answer to its end, think
   ``--think`` seconds (uniform between MIN and MAX, or exactly S; seeded by ``--seed``).
4. Figures against their goals: added TTFT (time to the first token seen by the client minus
   the fake provider's own first-token time, measured directly on it beforehand) p50/p95;
   errors; rows counted after (exactly users × turns questions and complete answers, one
   answer per question, no duplicate); the gunicorn workers' CPU seconds and RSS (psutil
   when installed, else /proc).

Exit status 0 when every goal is met.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from bench.common import (  # noqa: E402
    PASSWORD,
    PYTHON,
    ROOT,
    FakeConfig,
    Stack,
    add_stack_arguments,
    cpu_seconds,
    direct_ttft,
    percentile,
    postgres_cpu,
)
from bench.users import (  # noqa: E402
    Person,
    count_rows,
    create_users,
    has_accounts,
    memory_kib,
    run,
)

GOAL_P95_MS = 150.0


class Member(Person):
    """A person who remembers whether they logged in through the login form."""

    logged_in = False

    def _post_login(self, page: str, email: str) -> None:
        super()._post_login(page, email)
        self.logged_in = True


_INSERT_USERS = """
import sys
from calango import create_app
from calango.extensions import db
from calango.models.user import User

app = create_app()
with app.app_context():
    password = sys.argv[1]
    first = None
    for email in sys.argv[2:]:
        user = User(email=User.normalize_email(email))
        if first is None:
            user.set_password(password)
            first = user.password_hash
        else:
            user.password_hash = first  # the same password: hash it once
        db.session.add(user)
    db.session.commit()
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="people (default 50)")
    parser.add_argument("--turns", type=int, default=10, help="turns per person (default 10)")
    parser.add_argument(
        "--think",
        type=float,
        nargs="+",
        default=[2.0, 6.0],
        metavar="S",
        help="think time between turns: MIN MAX (uniform) or one value (default 2 6)",
    )
    parser.add_argument("--ramp", type=float, default=10.0, help="spread the starts over S s")
    parser.add_argument("--seed", type=int, default=11, help="random seed of the think times")
    # Realistic pacing: 60 tokens ~25 ms apart (≈40 tokens/s) after 300 ms to the first token.
    add_stack_arguments(parser, chunks=60, delay=0.025)
    parser.set_defaults(first_delay=0.3)
    args = parser.parse_args(argv)
    if len(args.think) == 1:
        args.think = [args.think[0], args.think[0]]
    if len(args.think) != 2 or min(args.think) < 0 or args.think[0] > args.think[1]:
        parser.error("--think takes one value or MIN MAX (0 ≤ MIN ≤ MAX)")
    return args


def insert_users(env: dict[str, str], emails: list[str]) -> None:
    """The accounts, through the app's models, when the app has no ``create-user``."""
    subprocess.run([PYTHON, "-c", _INSERT_USERS, PASSWORD, *emails], cwd=ROOT, env=env, check=True)


def process_figures(pids: list[int]) -> dict[int, tuple[float, int, int]]:
    """{pid: (CPU seconds, RSS KiB, peak RSS KiB)}: psutil when installed, else /proc."""
    try:
        import psutil
    except ImportError:
        psutil = None
    figures = {}
    for pid in pids:
        if psutil is not None:
            try:
                process = psutil.Process(pid)
                times, memory = process.cpu_times(), process.memory_info()
                _rss, peak = memory_kib(pid)
                figures[pid] = (times.user + times.system, memory.rss // 1024, peak)
                continue
            except psutil.Error:
                pass
        rss, peak = memory_kib(pid)
        figures[pid] = (cpu_seconds(pid), rss, peak)
    return figures


def answer_duplicates(database_url: str) -> int:
    """Questions answered more than once (two answers with the same parent)."""
    import psycopg2

    conn = psycopg2.connect(database_url.replace("+psycopg2", ""))
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM chat_messages "
                "WHERE role = 'assistant' GROUP BY parent_id HAVING count(*) > 1) AS d"
            )
            return int(cursor.fetchone()[0])
    finally:
        conn.close()


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print each figure against its goal; 1 when a goal is missed."""
    args = parse_args(argv)
    if args.db != "postgresql":
        raise SystemExit("bench.fifty_users runs on PostgreSQL (SERVER mode)")
    fake = FakeConfig(chunks=args.chunks, delay=args.delay, first_delay=args.first_delay)
    with Stack(fake=fake, db="postgresql", workers=args.workers) as stack:
        emails = [f"person{i:02d}@bench.example" for i in range(args.users)]
        warm_email = "warm-up@bench.example"
        # One ``flask`` process per account costs seconds each on 2 cores: the CLI makes the
        # first account (when the app has it), the models the rest, in one process.
        if has_accounts(stack.env):
            accounts = "1 by flask calango create-user, the rest through the models"
            create_users(stack.env, emails[:1])
            insert_users(stack.env, [*emails[1:], warm_email])
        else:
            accounts = "inserted through the models"
            insert_users(stack.env, [*emails, warm_email])
        progress(f"{len(emails) + 1} accounts created; signing in")
        people = [Member(stack.host, stack.port) for _ in emails]
        for person, email in zip(people, emails, strict=True):
            person.sign_in(email)
        logged_in = sum(1 for p in people if p.logged_in)
        progress(f"{logged_in} signed in; warming up")
        # Warm both workers (imports, pools) as a user of its own, left out of the counts.
        warm = Member(stack.host, stack.port)
        warm.sign_in(warm_email)
        for i in range(4):
            warm.chat_id = None
            warmed = warm.turn(f"warm-up {i}")
            if warmed.error:
                raise SystemExit(f"warm-up failed: {warmed.error}\n{stack.log_problems()[:5]}")
        before = count_rows(stack.database_url, fake.reply)
        dup_before = answer_duplicates(stack.database_url)
        baseline = statistics.median(direct_ttft(stack.fake_url) for _ in range(10))

        progress("conversations running")
        workers = stack.worker_pids()
        start_figures = process_figures(workers)
        pg_before = postgres_cpu()
        started = time.perf_counter()
        conversations = run(stack, args, people)
        wall = time.perf_counter() - started
        end_figures = process_figures(workers)
        pg_used = sum(v - pg_before.get(p, 0.0) for p, v in postgres_cpu().items())
        after = count_rows(stack.database_url, fake.reply)
        duplicates = answer_duplicates(stack.database_url) - dup_before
        counts = {k: after[k] - before[k] for k in after}
        problems = stack.log_problems()

    results = [r for conversation in conversations for r in conversation]
    failed = [r for r in results if r.error or r.status != "complete"]
    good = [r for r in results if r not in failed]
    added_ms = [(r.ttft - baseline) * 1000 for r in good]
    expected = args.users * args.turns
    duplicates += counts["user rows"] - counts["distinct user texts"]
    lost = (
        max(0, expected - counts["user rows"])
        + max(0, expected - counts["assistant rows"])
        + counts["not complete"]
        + counts["wrong text"]
    )
    p50 = percentile(added_ms, 50) if added_ms else float("nan")
    p95 = percentile(added_ms, 95) if added_ms else float("inf")

    figures: list[tuple[str, str, str, bool]] = [
        ("errors", f"{len(failed)}", "0", not failed),
        ("added TTFT p50", f"{p50:.1f} ms", "(reported)", True),
        ("added TTFT p95", f"{p95:.1f} ms", f"≤ {GOAL_P95_MS:g} ms", p95 <= GOAL_P95_MS),
        ("user messages", f"{counts['user rows']}", f"{expected}", counts["user rows"] == expected),
        (
            "complete answers",
            f"{counts['assistant rows'] - counts['not complete']}",
            f"{expected}",
            counts["assistant rows"] == expected and counts["not complete"] == 0,
        ),
        ("answers with the full text", f"{counts['assistant rows'] - counts['wrong text']}",
         f"{expected}", counts["wrong text"] == 0),
        ("chats", f"{counts['chats']}", f"{args.users}", counts["chats"] == args.users),
        ("lost rows", f"{lost}", "0", lost == 0),
        ("duplicated rows", f"{duplicates}", "0", duplicates == 0),
        ("gunicorn log problems", f"{len(problems)}", "0", not problems),
    ]  # fmt: skip
    think = f"{args.think[0]:g}–{args.think[1]:g}"
    print(
        f"fifty_users: {args.users} users ({accounts}, {logged_in} signed in via the login "
        f"form) × {args.turns} turns, think {think} s (seed {args.seed}), ramp {args.ramp:g} s, "
        f"workers={args.workers}, PostgreSQL"
    )
    print(
        f"  fake: {args.chunks} tokens × {args.delay * 1000:g} ms after {args.first_delay * 1000:g}"
        f" ms; its own TTFT measured directly {baseline * 1000:.1f} ms"
    )
    print(f"  wall {wall:.1f} s, {len(results)} turns ({len(results) / wall:.2f}/s)")
    for name, value, goal, ok in figures:
        print(f"  {name:<28} {value:>12}   goal {goal:<12} {verdict(ok)}")
    for r in failed[:5]:
        print(f"    error: {r.error or 'status ' + str(r.status)}")
    for line in problems[:5]:
        print(f"    log: {line[:200]}")
    cpu_total = 0.0
    for pid in workers:
        cpu0 = start_figures.get(pid, (0.0, 0, 0))[0]
        cpu1, rss, peak = end_figures.get(pid, (cpu0, 0, 0))
        cpu_total += cpu1 - cpu0
        print(
            f"  worker {pid}: CPU {cpu1 - cpu0:.1f} s, RSS {rss / 1024:.0f} MiB "
            f"(peak {peak / 1024:.0f} MiB)"
        )
    print(
        f"  workers CPU {cpu_total:.1f} s over {wall:.1f} s ({cpu_total / wall:.0%} of a core); "
        f"PostgreSQL CPU {pg_used:.1f} s"
    )
    met = all(ok for *_rest, ok in figures)
    print(f"goals: {verdict(met)}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
