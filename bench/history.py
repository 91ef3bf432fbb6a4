"""History at scale: search, a 5,000-message chat, the sidebar and appends over a large history.

``python -m bench.history [--db postgresql|sqlite] [--messages 1000000] [--chats 10000]``
builds a fresh database (``flask db upgrade``), fills it with a synthetic history
(``bench.history_data``: bulk inserts, the search index kept by the database), then measures
server time in-process (the Flask test client: routing, queries, templates; no network):

* search: 50 fixed queries (rare words, common words, phrases, no match), GET /chats/search,
  one warm-up round then three measured rounds. Goal: median ≤ 50 ms, p95 ≤ 150 ms.
* opening the 5,000-message chat (GET /chats/<id>: its latest 50). Goal: median ≤ 30 ms.
* the sidebar's first and 100th page (GET /chats/ and /chats/?older=<cursor>). Goal: ≤ 20 ms.
* appending a message (insert + bump the chat, one commit) to the 10- and the 5,000-message
  chat, alternating. Goal: the same within noise (ratio of medians ≤ 1.5).

Each figure is wall time (what the goal is about) and CPU time (this process plus, on
PostgreSQL, the server processes of this database): on a shared, busy machine wall time
includes waiting for a core, CPU time does not. Prints each figure against its goal, the load
average, and exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import PG_ADMIN_URL, _pg_admin, cpu_seconds, percentile
from bench.history_data import MODELS, Plan, load_postgresql, load_sqlite, plan

QUERIES_PER_KIND = {"rare": 15, "common": 15, "phrase": 10, "none": 10}
NO_MATCH = (
    "xyzzyplugh", "qwfpgjluy", "zzzyyyxxx", "calangonaoexiste", "frobnicatorium",
    "blorptastic", "kwyjibo", "snarfblat", "quuxbazz", "wibblewobble",
)  # fmt: skip


def queries(words: list[str]) -> list[tuple[str, str]]:
    """The fixed 50: (kind, query). Rare words sit deep in the Zipf tail (a few hundred
    occurrences in a million messages), common ones at its head."""
    rare = [words[20_000 + 600 * i] for i in range(15)]
    common = ["de", "the", "que", "python", "erro", "model", "para", "is", "dados", "ação",
              "acao", "de que", "the model", "python erro", "resposta valor"]  # fmt: skip
    phrases = ['"de a"', '"the of"', '"que e"', '"o que"', '"python código"', '"to in"',
               '"não uma"', f'"{words[300]} {words[301]}"', f'"de {words[2000]}"',
               f'"{words[5000]} {words[5001]}"']  # fmt: skip
    return (
        [("rare", q) for q in rare]
        + [("common", q) for q in common]
        + [("phrase", q) for q in phrases]
        + [("none", q) for q in NO_MATCH]
    )


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def backend_pids(database: str) -> list[int]:
    """PostgreSQL server processes serving ``database`` (their CPU counts as server time)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"postgres: ") and f" {database} ".encode() in cmdline:
                pids.append(int(entry.name))
    return pids


@dataclass
class Samples:
    """Wall and CPU seconds of each measured call."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def extend(self, other: Samples) -> None:
        self.wall += other.wall
        self.cpu += other.cpu

    def median_ms(self) -> float:
        return statistics.median(self.wall) * 1000

    def p95_ms(self) -> float:
        return percentile([x * 1000 for x in self.wall], 95)

    def line(self) -> str:
        cpu = statistics.median(self.cpu) * 1000
        return (
            f"median {self.median_ms():6.1f} ms  p95 {self.p95_ms():6.1f} ms  "
            f"(CPU median {cpu:5.1f} ms, n={len(self.wall)})"
        )


class Meter:
    """Times calls: wall clock, and CPU of this process and of the database's backends."""

    def __init__(self, database: str | None) -> None:
        self.database = database
        self.pids: list[int] = []

    def refresh(self) -> None:
        if self.database:
            self.pids = backend_pids(self.database)

    def __call__(self, call: Callable[[], object], rounds: int = 1) -> Samples:
        out = Samples()
        for _ in range(rounds):
            server = sum(cpu_seconds(pid) for pid in self.pids)
            cpu = time.process_time()
            started = time.perf_counter()
            call()
            out.wall.append(time.perf_counter() - started)
            server = sum(cpu_seconds(pid) for pid in self.pids) - server
            out.cpu.append(time.process_time() - cpu + server)
        return out


def report(ok: bool, name: str, samples: Samples, goal: str = "") -> bool:
    """Print one figure against its goal; returns ``ok``."""
    print(f"{'OK  ' if ok else 'MISS'} {name:<30} {samples.line()}   {goal}")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the database and measure; exit status 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--long", type=int, default=5_000, help="messages in the long chat")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--database", help="measure a database kept by an earlier --keep run (same sizes)"
    )
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="calango-history-"))
    if args.database:
        args.db = "postgresql" if args.database.startswith("postgres") else "sqlite"
        try:
            return run(args, args.database, tmp, fresh=False)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    pg_name = None
    if args.db == "sqlite":
        url = f"sqlite:///{tmp / 'calango.db'}"
    else:
        pg_name = f"calango_bench_history_{os.getpid()}"
        _pg_admin(f'CREATE DATABASE "{pg_name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_name}"
    try:
        return run(args, url, tmp, fresh=True)
    finally:
        if pg_name and not args.keep:
            _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept: --database {url}")


def load(db_name: str, p: Plan) -> None:
    """Migrate, add a provider (as anyone with this much history has: no first-run offers),
    and bulk-load the synthetic history."""
    from flask_migrate import upgrade
    from sqlalchemy import inspect

    from calango.extensions import db
    from calango.models import Provider

    upgrade()
    provider = Provider(
        name="Bench", kind="openai", base_url="http://127.0.0.1:9/v1", models=list(MODELS)
    )
    provider.set_api_key("sk-bench-0001")
    db.session.add(provider)
    db.session.commit()
    started = time.perf_counter()
    meta = "metadata" in {c["name"] for c in inspect(db.engine).get_columns("chat_messages")}
    raw = db.engine.raw_connection()
    try:
        loader = load_sqlite if db_name == "sqlite" else load_postgresql
        loader(raw.driver_connection, p, meta)
    finally:
        raw.close()
    print(f"generated and loaded in {time.perf_counter() - started:,.0f} s "
          f"(load average {loadavg()})")  # fmt: skip


def run(args: argparse.Namespace, url: str, tmp: Path, fresh: bool) -> int:
    """Load (when ``fresh``) and measure every figure; 0 when all goals are met."""
    from calango import create_app
    from calango.extensions import db
    from calango.models import ChatMessage, ChatSession
    from calango.models.types import utcnow
    from calango.services.history import SIDEBAR_PAGE_SIZE, sidebar_page
    from config import TestConfig

    config = TestConfig(url, home=str(tmp))
    config.WTF_CSRF_ENABLED = False
    app = create_app(config)
    p = plan(args.chats, args.messages, args.long)
    print(f"database {args.db}; {p.total:,} messages in {len(p.sizes):,} chats")
    print(f"load average before: {loadavg()}")
    with app.app_context():
        if fresh:
            load(args.db, p)
        long_id = db.session.scalar(
            db.select(ChatMessage.session_id).order_by(ChatMessage.id).limit(1)
        )
        short_id = db.session.scalar(
            db.select(ChatMessage.session_id).where(ChatMessage.id == args.long + 1)
        )
        # The 100th page's cursor: walk the pages as a user would.
        with app.test_request_context():
            cursor, last_page = None, 1
            for _ in range(99):
                following = sidebar_page(cursor).next_cursor
                if following is None:
                    break
                cursor, last_page = following, last_page + 1
        db.session.remove()

    client = app.test_client()
    meter = Meter(url.rsplit("/", 1)[1] if args.db == "postgresql" else None)

    def get(path: str, q: str | None = None) -> None:
        response = client.get(path, query_string={"q": q} if q is not None else None)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}")

    results = []
    fixed = queries(p.words)
    for _, q in fixed:  # warm-up round
        get("/chats/search", q)
    meter.refresh()
    print(f"\nload average before measuring: {loadavg()}")
    per_kind: dict[str, Samples] = {}
    every = Samples()
    for _ in range(3):
        for kind, q in fixed:
            took = meter(lambda q=q: get("/chats/search", q))
            per_kind.setdefault(kind, Samples()).extend(took)
            every.extend(took)
    ok = every.median_ms() <= 50 and every.p95_ms() <= 150
    results.append(report(ok, "search, 50 queries x 3", every, "goal median ≤ 50, p95 ≤ 150"))
    for kind, samples in per_kind.items():
        print(f"     {'  ' + kind:<30} {samples.line()}")

    get(f"/chats/{long_id}")
    opening = meter(lambda: get(f"/chats/{long_id}"), 30)
    name = f"open the {args.long:,}-message chat"
    results.append(report(opening.median_ms() <= 30, name, opening, "goal ≤ 30"))

    for label, path in (("first", "/chats/"), (f"{last_page}th", f"/chats/?older={cursor}")):
        get(path)
        page = meter(lambda path=path: get(path), 30)
        name = f"sidebar, {label} page ({SIDEBAR_PAGE_SIZE}/page)"
        results.append(report(page.median_ms() <= 20, name, page, "goal ≤ 20"))

    appends = {short_id: Samples(), long_id: Samples()}
    last: dict[uuid.UUID, int] = {}
    with app.app_context():
        for i in range(60):
            for chat_id in (short_id, long_id):

                def append(chat_id: uuid.UUID = chat_id, i: int = i) -> None:
                    now = utcnow()
                    text = f"appended message {i}"
                    chat = db.session.get(ChatSession, chat_id)
                    message = ChatMessage(
                        session_id=chat_id, role="user", content=text, timestamp=now,
                        parent_id=last.get(chat_id),
                    )  # fmt: skip
                    db.session.add(message)
                    chat.updated_at = now
                    db.session.commit()
                    last[chat_id] = message.id

                took = meter(append)
                if i >= 10:  # the first ten warm up
                    appends[chat_id].extend(took)
        db.session.remove()
    short, long = appends[short_id], appends[long_id]
    ratio = long.median_ms() / short.median_ms()
    ok = ratio <= 1.5
    report(ok, "append, 10-message chat", short)
    name = f"append, {args.long:,}-message chat"
    results.append(report(ok, name, long, f"ratio of medians {ratio:.2f}, goal ≤ 1.5"))
    print(f"\nload average after: {loadavg()}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
