"""Worker CPU of one send: ``python -m bench.send_cost [--sends 200] [--db sqlite]``.

The same stack as the other benchmarks without gunicorn: the fake provider in its own
process, a fresh database, the app in this process with the server's settings. Each send is
the browser script's POST (CSRF token, the composer's fields, ``Accept: application/json``)
through Flask's test client; the CPU time of the thread handling it (``time.thread_time``:
CSRF, form, lookups, inserts, commit, the response's template) is measured, not the answer's
producer, which runs in its own thread afterwards. Half the sends start a chat, half continue
one (after its previous answer ended). Goal: median ≤ 4 ms.

``--stream`` measures instead the request that follows each answer (its Server-Sent Events
stream, opened once the answer has ended: the login check, the message, the ``done`` event's
bubble), the other request every answer costs a worker. It has no goal of its own.

``--floor`` measures, alternating with the sends, what any request of this stack costs before
a send does anything of its own: a signed-in, CSRF-checked POST to a route that answers an
empty JSON object, and the same route running four ``SELECT 1`` and a commit (the send's
statement count). The goal can be judged against what is left between those and the send.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import time
from typing import Any

from bench.common import (
    BENCH_EMAIL,
    BIN,
    MODEL,
    PASSWORD,
    PERSONA,
    PROVIDER_NAME,
    FakeConfig,
    Stack,
    _run,
    create_account,
    percentile,
)

GOAL_MS = 4.0


def main(argv: list[str] | None = None) -> int:
    """Measure and print; exit 1 when the goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--stream", action="store_true", help="measure the stream request")
    parser.add_argument("--floor", action="store_true", help="also measure an empty POST")
    args = parser.parse_args(argv)
    stack = Stack(fake=FakeConfig(chunks=3, delay=0.0, first_delay=0.0), db=args.db)
    try:
        import tempfile
        from pathlib import Path

        stack._tmp = Path(tempfile.mkdtemp(prefix="calango-bench-"))
        stack._start_fake()
        stack._create_database()
        stack.env = stack._app_env()
        _run([str(BIN / "flask"), "db", "upgrade"], stack.env)
        from bench.common import _PROVIDER_CODE

        _run([sys.executable, "-c", _PROVIDER_CODE, PROVIDER_NAME, stack.fake_url + "/v1", MODEL],
             stack.env)  # fmt: skip
        os.environ.update(stack.env)
        from calango import load_app
        from calango.services.generation import wait_for_generations

        if stack.env["CALANGO_MODE"] == "SERVER":
            create_account(stack.env, BENCH_EMAIL)
        app = load_app()
        if args.floor:
            _add_floor_routes(app)
        client = app.test_client()
        base = f"http://{stack.host}"
        login = client.get("/login", base_url=base).get_data(as_text=True)
        if 'name="password"' in login:
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login)
            assert token, "no CSRF token on the login form"
            fields = {"email": BENCH_EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
            signed = client.post("/login", base_url=base, data=fields)
            assert signed.status_code in (302, 303), f"login answered {signed.status_code}"
        page = client.get("/chats/", base_url=f"http://{stack.host}").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert token, "no CSRF token"
        form = {"csrf_token": token.group(1), "provider": PROVIDER_NAME, "model": MODEL,
                "persona": PERSONA}  # fmt: skip
        headers = {"Accept": "application/json"}
        streaming = {"Accept": "text/event-stream"}
        costs: list[float] = []
        floors: dict[str, list[float]] = {"/bench/floor": [], "/bench/floor-sql": []}
        chat_id = None
        for index in range(args.sends + 20):
            for floor_url, floor_costs in floors.items() if args.floor else ():
                started = time.thread_time()
                answered = client.post(floor_url, base_url=base, data=form, headers=headers)
                cost = time.thread_time() - started
                assert answered.status_code == 201, f"{floor_url}: {answered.status_code}"
                if index >= 20:
                    floor_costs.append(cost)
            url = f"/chats/{chat_id}/messages" if chat_id and index % 2 else "/chats/messages"
            started = time.thread_time()
            response = client.post(
                url, base_url=base, data={**form, "content": f"q{index}"}, headers=headers
            )
            cost = time.thread_time() - started
            if response.status_code != 201:
                print(f"send {index}: HTTP {response.status_code} {response.get_data()[:200]!r}")
                return 2
            chat_id = chat_id or response.get_json()["chat_id"]
            wait_for_generations(app, timeout=10)  # the next send in that chat must not wait
            if args.stream:
                stream_url = re.search(r'data-stream-url="([^"]+)"', response.get_json()["html"])
                assert stream_url, "no stream URL in the answer bubble"
                started = time.thread_time()
                events = client.get(stream_url.group(1), base_url=base, headers=streaming)
                body = events.get_data()  # the generator runs here, in this thread
                cost = time.thread_time() - started
                assert b"event: done" in body, f"stream without done: {body[:200]!r}"
            if index >= 20:  # the first ones warm caches and imports
                costs.append(cost)
    finally:
        # Dropping the database ends this process's bus connections: not worth a traceback.
        logging.getLogger("calango.services.answer_bus").setLevel(logging.CRITICAL)
        stack.close()
    ms = [c * 1000 for c in costs]
    median = statistics.median(ms)
    print(f"send_cost: {len(ms)} sends, db={args.db}, load {os.getloadavg()[0]:.2f}")
    what = "stream request (answer ended)" if args.stream else "send"
    print(f"worker CPU per {what}: median {median:.2f} ms  p95 {percentile(ms, 95):.2f} ms  "
          f"max {max(ms):.2f} ms")  # fmt: skip
    for floor_url, floor_costs in floors.items() if args.floor else ():
        floor_ms = [c * 1000 for c in floor_costs]
        what = "4 × SELECT 1 + commit" if floor_url.endswith("sql") else "nothing"
        floor_median, floor_p95 = statistics.median(floor_ms), percentile(floor_ms, 95)
        print(f"worker CPU per signed-in CSRF POST doing {what}: median {floor_median:.2f} ms  "
              f"p95 {floor_p95:.2f} ms")  # fmt: skip
    if args.stream:
        return 0
    met = median <= GOAL_MS
    print(f"goal worker CPU per send median ≤ {GOAL_MS:.0f} ms: {median:.2f} ms — "
          f"{'met' if met else 'MISSED'}")  # fmt: skip
    return 0 if met else 1


def _add_floor_routes(app: Any) -> None:
    """Two routes behind the same hooks as the send (host and schema gates, sign-in, CSRF,
    rate limits, session): one does nothing, one runs the send's number of statements."""
    from flask import jsonify
    from sqlalchemy import text

    from calango.extensions import db

    def floor() -> Any:
        return jsonify({}), 201

    def floor_sql() -> Any:
        for _ in range(4):
            db.session.execute(text("SELECT 1"))
        db.session.commit()
        return jsonify({}), 201

    app.add_url_rule("/bench/floor", "bench_floor", floor, methods=["POST"])
    app.add_url_rule("/bench/floor-sql", "bench_floor_sql", floor_sql, methods=["POST"])


if __name__ == "__main__":
    raise SystemExit(main())
