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

Prints each figure against its goal, the load average, and exits 1 when a goal is missed.
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
from pathlib import Path

from bench.common import PG_ADMIN_URL, _pg_admin, percentile
from bench.history_data import MODELS, load_postgresql, load_sqlite, plan

RARE = "rare"
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
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    """Seconds each call took."""
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def ms(values: list[float]) -> str:
    v = [x * 1000 for x in values]
    return f"median {statistics.median(v):7.1f} ms  p95 {percentile(v, 95):7.1f} ms  (n={len(v)})"


def verdict(ok: bool) -> str:
    return "OK  " if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--long", type=int, default=5_000, help="messages in the long chat")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="calango-history-"))
    pg_name = None
    if args.db == "sqlite":
        url = f"sqlite:///{tmp / 'calango.db'}"
    else:
        pg_name = f"calango_bench_history_{os.getpid()}"
        _pg_admin(f'CREATE DATABASE "{pg_name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_name}"
    try:
        return run(args, url, tmp)
    finally:
        if pg_name and not args.keep:
            _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept: {url}")


def run(args: argparse.Namespace, url: str, tmp: Path) -> int:
    from flask_migrate import upgrade

    from calango import create_app
    from calango.extensions import db
    from calango.models import ChatMessage, ChatSession, Provider
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
        upgrade()
        # A configured provider, as anyone with this much history has (no first-run offers).
        provider = Provider(name="Bench", kind="openai", base_url="http://127.0.0.1:9/v1",
                            models=list(MODELS))  # fmt: skip
        provider.set_api_key("sk-bench-0001")
        db.session.add(provider)
        db.session.commit()
        started = time.perf_counter()
        raw = db.engine.raw_connection()
        try:
            (load_sqlite if args.db == "sqlite" else load_postgresql)(raw.driver_connection, p)
        finally:
            raw.close()
        print(f"generated and loaded in {time.perf_counter() - started:,.0f} s "
              f"(load average {loadavg()})")  # fmt: skip
        chats = list(db.session.scalars(ChatSession.select_recent().limit(3)))
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
    assert chats, "no chats"

    client = app.test_client()
    failed = False

    def get(path: str, q: str | None = None) -> None:
        response = client.get(path, query_string={"q": q} if q is not None else None)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}")

    print(f"\nload average before measuring: {loadavg()}")
    fixed = queries(p.words)
    for _, q in fixed:  # warm-up round
        get("/chats/search", q)
    per_kind: dict[str, list[float]] = {}
    every: list[float] = []
    for _ in range(3):
        for kind, q in fixed:
            took = timed(lambda q=q: get("/chats/search", q), 1)
            per_kind.setdefault(kind, []).extend(took)
            every.extend(took)
    med, p95 = statistics.median(every) * 1000, percentile([x * 1000 for x in every], 95)
    ok = med <= 50 and p95 <= 150
    failed |= not ok
    name = "search, 50 queries x 3"
    print(f"{verdict(ok)} {name:<30} {ms(every)}   goal median ≤ 50, p95 ≤ 150")
    for kind, values in per_kind.items():
        print(f"     {'  ' + kind:<30} {ms(values)}")

    get(f"/chats/{long_id}")
    opening = timed(lambda: get(f"/chats/{long_id}"), 30)
    ok = statistics.median(opening) * 1000 <= 30
    failed |= not ok
    name = f"open the {args.long:,}-message chat"
    print(f"{verdict(ok)} {name:<30} {ms(opening)}   goal ≤ 30")

    for label, path in (("first", "/chats/"), (f"{last_page}th", f"/chats/?older={cursor}")):
        get(path)
        values = timed(lambda path=path: get(path), 30)
        ok = statistics.median(values) * 1000 <= 20
        failed |= not ok
        name = f"sidebar, {label} page ({SIDEBAR_PAGE_SIZE}/page)"
        print(f"{verdict(ok)} {name:<30} {ms(values)}   goal ≤ 20")

    appends: dict[uuid.UUID, list[float]] = {short_id: [], long_id: []}
    with app.app_context():
        for i in range(60):
            for chat_id in (short_id, long_id):

                def append(chat_id: uuid.UUID = chat_id, i: int = i) -> None:
                    now = utcnow()
                    text = f"appended message {i}"
                    db.session.add(
                        ChatMessage(session_id=chat_id, role="user", content=text, timestamp=now)
                    )
                    db.session.get(ChatSession, chat_id).updated_at = now
                    db.session.commit()

                took = timed(append, 1)
                if i >= 10:  # the first ten warm up
                    appends[chat_id].extend(took)
        db.session.remove()
    short, long = appends[short_id], appends[long_id]
    ratio = statistics.median(long) / statistics.median(short)
    ok = ratio <= 1.5
    failed |= not ok
    print(f"{verdict(ok)} {'append, 10-message chat':<30} {ms(short)}")
    name = f"append, {args.long:,}-message chat"
    print(f"{verdict(ok)} {name:<30} {ms(long)}   ratio {ratio:.2f}, goal ≤ 1.5")
    print(f"\nload average after: {loadavg()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
