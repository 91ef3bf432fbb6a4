"""A Rinha: do 2–4 contenders answer at once? In-process, against the fake provider.

Each of N models streams ``--chunks`` chunks ``--delay`` s apart (≈ chunks × delay each). A
round starts them all; the wall time from the POST to the last saved answer should be about
one answer's time, not N times it, and every contender's first token arrives before any
answer ends. Prints the times and each contender's time to first token.

    .venv/bin/python -m bench.arena                 # 4 contenders, 12 chunks, 0.1 s apart
    .venv/bin/python -m bench.arena --contenders 2 --chunks 40 --delay 0.05
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time

from flask_migrate import upgrade

from calango import create_app
from calango.extensions import db
from calango.models import ArenaRound, ChatMessage, Provider
from calango.services.generation import wait_for_generations
from config import TestConfig
from tests.fakes.provider_server import FakeProviderServer

MODELS = ["alpha", "beta", "gamma", "delta"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contenders", type=int, default=4, choices=(2, 3, 4))
    parser.add_argument("--chunks", type=int, default=12)
    parser.add_argument("--delay", type=float, default=0.1)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="calango-bench-arena-")
    config = TestConfig(f"sqlite:///{home}/bench.db", home=home)
    config.WTF_CSRF_ENABLED = False
    app = create_app(config)
    models = MODELS[: args.contenders]
    with FakeProviderServer() as fake, app.app_context():
        upgrade()
        provider = Provider(name="Fake", kind="openai", base_url=fake.openai_base_url,
                            models=models)  # fmt: skip
        provider.set_api_key("sk-bench")
        db.session.add(provider)
        db.session.commit()
        for model in models:
            fake.script_model(model, chunks=[f"{model}{i} " for i in range(args.chunks)],
                              delay=args.delay)  # fmt: skip
        data = {"prompt": "Quem ganha?"}
        for i, model in enumerate(models):
            data[f"contenders-{i}-model"] = f"{provider.id}:{model}"
        client = app.test_client()
        began = time.monotonic()
        response = client.post("/rinha/", data=data)
        wait_for_generations(app, timeout=120)
        wall = time.monotonic() - began
        round_id = int(re.search(r"/rinha/(\d+)", response.headers["Location"]).group(1))
        arena_round = db.session.get(ArenaRound, round_id)
        answers = [
            db.session.scalars(
                ChatMessage.select_for_session(c.session_id).where(ChatMessage.role == "assistant")
            ).one()
            for c in arena_round.contenders
        ]
    one = args.chunks * args.delay
    print(f"{args.contenders} contenders, each ≈ {one:.2f} s of streaming "
          f"(sum {one * args.contenders:.2f} s)")  # fmt: skip
    print(f"round wall time (POST → last answer saved): {wall:.2f} s")
    for answer in answers:
        print(f"  {answer.model}: {answer.status}, TTFT {answer.ttft_ms} ms, "
              f"total {answer.total_ms} ms")  # fmt: skip
    # One after another, a contender's first token would come after the previous one's end;
    # at once, every first token arrives before any answer ends (whatever the machine's load).
    overlap = max(a.ttft_ms or 0 for a in answers) < min(a.total_ms or 0 for a in answers)
    print(f"wall time / sum of the answers' own time: {wall / (one * args.contenders):.2f}")
    print("concurrent: yes (every first token before any answer ended)" if overlap
          else "concurrent: NO (a first token came after another answer had ended)")  # fmt: skip
    concurrent = overlap
    return 0 if concurrent and all(a.status == "complete" for a in answers) else 1


if __name__ == "__main__":
    raise SystemExit(main())
