"""A Cuca (the dashboard) on a large history: how long the page's queries take.

``python -m bench.dashboard [--calls 1000000] [--db sqlite|postgresql|both]``: builds a fresh
database (a temporary SQLite file, or ``calango_bench_dash_<pid>`` on PostgreSQL), migrates it,
bulk-inserts ``--calls`` recorded calls spread over two years (98 % chat answers with tokens,
cost and timings, errors of every class, stopped answers, local models without cost; 2 %
*Test connection* / *Fetch models*), builds A Cuca's rollup from them (what
``flask calango rebuild-stats`` does), then times the whole overview page for "30 days" and
"all" — every query it runs, through the test client — and the log's first page. Then a
separate process streams the CSV of every row and reports its peak RSS.

Goals (issue 15): ≤ 150 ms for 30 days and ≤ 400 ms for all; the CSV in flat memory.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import PG_ADMIN_URL, PYTHON, ROOT
from config import normalize_database_url

MODELS = [
    # provider, model, $ per 1M tokens in, out (None: a local model, nothing billed)
    ("OpenAI", "gpt-4o", 2.5, 10.0),
    ("OpenAI", "gpt-4o-mini", 0.15, 0.6),
    ("Anthropic", "claude-sonnet-4", 3.0, 15.0),
    ("Anthropic", "claude-haiku-3.5", 0.8, 4.0),
    ("Groq", "llama-3.3-70b", 0.59, 0.79),
    ("OpenRouter", "deepseek-chat", 0.27, 1.1),
    ("Ollama", "llama3.2", None, None),
]
PERSONAS = ["Calango (Default)", "Python Expert", None]
ERRORS = ["auth", "rate_limit", "server", "timeout", "connection", "bad_request"]
GOALS_MS = {"30d": 150.0, "all": 400.0}


BATCH = 50_000


def sessions_for(n: int, seed: int = 15) -> list[str]:
    """The chat ids the calls belong to (one chat per 200 calls)."""
    rng = random.Random(seed)
    return [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(max(1, n // 200))]


def generate(
    n: int, sessions: list[str], seed: int = 15
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """``n`` recorded calls over the two years before now, in batches of (answers, others)."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(tzinfo=None)
    span = 730 * 86400
    answers: list[tuple[Any, ...]] = []
    others: list[tuple[Any, ...]] = []
    for i in range(n):
        if len(answers) + len(others) >= BATCH:
            yield answers, others
            answers, others = [], []
        # In time order, as a real history is written (a period is a contiguous run of rows).
        ts = now - timedelta(seconds=span * (1 - (i + rng.random()) / n))
        provider, model, price_in, price_out = rng.choice(MODELS)
        if i % 50 == 0:
            kind = "test_connection" if i % 100 == 0 else "fetch_models"
            failed = rng.random() < 0.1
            others.append(
                (kind, provider, None, "error" if failed else "complete",
                 rng.choice(ERRORS) if failed else None, rng.randint(80, 900), ts)
            )  # fmt: skip
            continue
        roll = rng.random()
        status = (
            "complete"
            if roll < 0.93
            else "error"
            if roll < 0.96
            else "stopped"
            if roll < 0.99
            else "interrupted"
        )
        prompt = completion = ttft = None
        cost = None
        estimated = None
        if status != "error" or roll < 0.945:  # most errors came before any token
            prompt = rng.randint(50, 8000)
            completion = rng.randint(20, 2000) if status == "complete" else rng.randint(1, 300)
            estimated = status != "complete" or (price_in is None and rng.random() < 0.5)
            ttft = int(rng.lognormvariate(6.2, 0.5))
            if price_in is not None:
                cost = round((prompt * price_in + completion * price_out) / 1e6, 8)
        total = (ttft or 0) + (int(completion * 1000 / rng.uniform(20, 250)) if completion else 0)
        answers.append(
            (rng.choice(sessions), "assistant", "", status, ts, provider, model,
             rng.choice(PERSONAS), prompt, completion, estimated, cost, ttft, total or 50,
             "x" if status == "error" else None, rng.choice(ERRORS) if status == "error" else None,
             False)
        )  # fmt: skip
    yield answers, others


ANSWER_COLUMNS = (
    "session_id, role, content, status, timestamp, provider, model, persona, prompt_tokens, "
    "completion_tokens, tokens_estimated, cost, ttft_ms, total_ms, error, error_class, "
    "stop_requested"
)
OTHER_COLUMNS = "kind, provider, model, status, error_class, duration_ms, timestamp"


def load(url: str, n: int) -> float:
    """Insert ``n`` calls into the migrated database at ``url``; returns the seconds taken."""
    sessions = sessions_for(n)
    started = time.monotonic()
    engine = create_engine(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.executemany(
                "INSERT INTO chat_sessions (id, title, created_at, updated_at) "
                "VALUES (?, 'bench', ?, ?)",
                [(s, now, now) for s in sessions],
            )
            for answers, others in generate(n, sessions):
                cursor.executemany(
                    f"INSERT INTO chat_messages ({ANSWER_COLUMNS}) VALUES ({', '.join('?' * 17)})",
                    answers,
                )
                cursor.executemany(
                    f"INSERT INTO provider_calls ({OTHER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    others,
                )
        else:
            from psycopg2.extras import execute_values

            execute_values(
                cursor,
                "INSERT INTO chat_sessions (id, title, created_at, updated_at) VALUES %s",
                [(s, "bench", now, now) for s in sessions],
                page_size=5000,
            )
            for answers, others in generate(n, sessions):
                execute_values(
                    cursor, f"INSERT INTO chat_messages ({ANSWER_COLUMNS}) VALUES %s", answers,
                    page_size=5000,
                )  # fmt: skip
                execute_values(
                    cursor, f"INSERT INTO provider_calls ({OTHER_COLUMNS}) VALUES %s", others,
                    page_size=5000,
                )  # fmt: skip
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    return time.monotonic() - started


def build_rollup(url: str) -> float:
    """Fill A Cuca's rollup from the bulk-inserted rows (``flask calango rebuild-stats``);
    returns the seconds taken."""
    from calango import create_app
    from calango.services import call_rollup
    from config import TestConfig

    started = time.monotonic()
    with create_app(TestConfig(url)).app_context():
        call_rollup.rebuild()
        from calango.extensions import db

        rows = db.session.execute(text("SELECT count(*) FROM call_rollups")).scalar()
        speed_rows = db.session.execute(text("SELECT count(*) FROM call_speed_rollups")).scalar()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    elapsed = time.monotonic() - started
    print(f"rollup rows: {rows:,} sums, {speed_rows:,} histograms")
    return elapsed


def time_pages(url: str, repeat: int) -> dict[str, list[float]]:
    """Milliseconds for each page, ``repeat`` times after one warm-up."""
    from calango import create_app
    from config import TestConfig

    app = create_app(TestConfig(url))
    client = app.test_client()
    pages = {
        "30d": "/cuca/?period=30d",
        "all": "/cuca/?period=all",
        "log 30d": "/cuca/log?period=30d",
        "log all": "/cuca/log?period=all",
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    for name, path in pages.items():
        client.get(path)  # warm-up: caches, the schema check
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            times[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
    return times


def stream_csv(url: str) -> None:
    """(Child process) stream the CSV of every call; print rows, seconds and peak RSS."""
    from calango import create_app
    from config import TestConfig

    app = create_app(TestConfig(url))
    client = app.test_client()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    response = client.get("/cuca/calls.csv?period=all", buffered=False)
    lines = 0
    size = 0
    for chunk in response.response:
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        size += len(chunk)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"csv rows={lines - 1} bytes={size} seconds={time.monotonic() - started:.1f} "
        f"rss_before_kb={base} peak_rss_kb={peak}"
    )


def run(backend: str, n: int, repeat: int) -> bool:
    from flask_migrate import upgrade

    from calango import create_app
    from config import TestConfig

    folder = tempfile.mkdtemp(prefix="calango-bench-dash-")
    admin = create_engine(normalize_database_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"calango_bench_dash_{os.getpid()}"
    if backend == "sqlite":
        url = f"sqlite:///{folder}/calango.db"
    else:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = normalize_database_url(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    ok = True
    try:
        app = create_app(TestConfig(url))
        with app.app_context():
            upgrade()
        print(f"[{backend}] loaded {n:,} calls in {load(url, n):.0f} s")
        print(f"[{backend}] built the rollup (rebuild-stats) in {build_rollup(url):.0f} s")
        for page, values in time_pages(url, repeat).items():
            median = statistics.median(values)
            goal = GOALS_MS.get(page)
            verdict = (
                ""
                if goal is None
                else (f" (goal {goal:.0f} ms) " + ("ok" if median <= goal else "MISSED"))
            )
            ok &= goal is None or median <= goal
            print(
                f"[{backend}] {page:8s} median {median:7.1f} ms  min {min(values):7.1f}  "
                f"max {max(values):7.1f}{verdict}"
            )
        out = subprocess.run(
            [PYTHON, "-m", "bench.dashboard", "--csv-child", url],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        print(f"[{backend}] {out.stdout.strip()}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if backend == "postgresql":
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--csv-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.csv_child:
        stream_csv(args.csv_child)
        return 0
    print(f"load average: {os.getloadavg()}")
    backends = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    ok = all([run(b, args.calls, args.repeat) for b in backends])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
