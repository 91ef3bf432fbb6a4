"""A round: 2–4 contenders answer at once, each in its own column; failures stay in theirs."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Provider, SessionKind
from calango.services import arena_queries
from tests.arena.conftest import load_round, pair, round_id_from, start_round
from tests.helpers import csrf_token_from, finish


def _answers(app: Flask, round_id: int) -> dict[str, ChatMessage]:
    """The latest answer of each contender, by model."""
    with app.app_context():
        arena_round = arena_queries.get_round(round_id)
        assert arena_round is not None
        found = {}
        messages = arena_queries.session_messages(c.session_id for c in arena_round.contenders)
        for contender in arena_round.contenders:
            answers = [m for m in messages[contender.session_id] if m.role == "assistant"]
            found[contender.model] = answers[-1]
        db.session.expunge_all()
        return found


def test_four_contenders_answer_concurrently(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    # Each model takes ~1.2 s (12 chunks, 0.1 s apart): one after another would take 4.8 s.
    for model in ("alpha", "beta", "gamma", "delta"):
        fake.script_model(model, chunks=[f"{model}{i} " for i in range(12)], delay=0.1)
    token = csrf_token_from(client, "/rinha/")
    began = time.monotonic()
    response = start_round(
        client, token, [pair(provider, m) for m in ("alpha", "beta", "gamma", "delta")]
    )
    assert response.status_code == 303
    finish(app)
    elapsed = time.monotonic() - began
    # ≈ the slowest (1.2 s), far from the sum; the margin is for a loaded machine.
    assert elapsed < 3.6, f"took {elapsed:.2f} s: the contenders ran one after another"
    answers = _answers(app, round_id_from(response))
    for model in ("alpha", "beta", "gamma", "delta"):
        assert answers[model].status == "complete"
        assert answers[model].content == "".join(f"{model}{i} " for i in range(12))
        assert answers[model].ttft_ms is not None and answers[model].total_ms is not None
        assert answers[model].cost is not None and answers[model].cost > 0
    # Each contender got only its own conversation: the prompt, nothing of the others.
    prompts = [r["json"]["messages"] for r in fake.requests if r["path"].endswith("completions")]
    assert len(prompts) == 4
    assert all(p[-1] == {"role": "user", "content": "Quem ganha?"} for p in prompts)


def test_all_contenders_are_in_flight_at_the_same_time(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    # Without timing: every stream is paused after its first chunk; all four requests still
    # reach the provider, which one-after-another answering could never do.
    fake.script(chunks=["one ", "two"])
    fake.hold()
    token = csrf_token_from(client, "/rinha/")
    response = start_round(
        client, token, [pair(provider, m) for m in ("alpha", "beta", "gamma", "delta")]
    )
    assert fake.wait_until_held()
    deadline = time.monotonic() + 10
    while len([r for r in fake.requests if r["json"]]) < 4:
        assert time.monotonic() < deadline, "the contenders were not all asked at once"
        time.sleep(0.02)
    fake.release()
    finish(app)
    answers = _answers(app, round_id_from(response))
    assert {a.content for a in answers.values()} == {"one two"}


def test_a_failing_contender_shows_its_error_and_never_slows_the_others(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    fake.script_model("alpha", reply="fine answer", delay=0.01)
    fake.script_model("beta", status=429, error_body={"error": {"message": "slow down"}})
    fake.script_model("gamma", hang="after_headers")  # hangs until the read timeout (3 s)
    fake.script_model("delta", reply="partial words here and more", cut_after=2)
    token = csrf_token_from(client, "/rinha/")
    began = time.monotonic()
    response = start_round(
        client, token, [pair(provider, m) for m in ("alpha", "beta", "gamma", "delta")]
    )
    round_id = round_id_from(response)

    def alpha_done() -> bool:
        return _answers(app, round_id)["alpha"].status == "complete"

    while not alpha_done():
        time.sleep(0.05)
        assert time.monotonic() - began < 2.5, "the hanging contender held the others back"
    finish(app)
    answers = _answers(app, round_id)
    assert answers["alpha"].content == "fine answer"
    assert answers["beta"].status == "error" and answers["beta"].error
    assert answers["gamma"].status == "error" and answers["gamma"].error
    assert answers["delta"].status == "error"
    page = client.get(f"/rinha/{round_id}").get_data(as_text=True)
    assert "fine answer" in page
    assert "HTTP 429" in page and "slow down" in page
    assert page.count('role="alert"') >= 3


def test_a_contender_that_cannot_be_sent_to_fails_in_its_column_only(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    from tests.helpers import add_provider

    # (A local address needs no key; a disabled provider or a model it no longer offers
    # fails the same way as a missing key: before any request.)
    disabled = add_provider(
        app, "k", name="Off", kind="openai", base_url=fake.openai_base_url, models=["x"],
        enabled=False,
    )  # fmt: skip
    token = csrf_token_from(client, "/rinha/")
    response = start_round(
        client, token, [pair(provider, "alpha"), pair(disabled, "x"), pair(provider, "gone")]
    )
    assert response.status_code == 303
    finish(app)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Hello from fake" in page
    assert "is disabled" in page
    assert "is not offered by" in page
    assert len([r for r in fake.requests if r["json"]]) == 1


def test_a_round_needs_two_contenders_and_a_prompt(
    app: Flask, client: FlaskClient, provider: Provider
) -> None:
    token = csrf_token_from(client, "/rinha/")
    one = start_round(client, token, [pair(provider, "alpha")])
    assert one.status_code == 400
    assert "Pick between 2 and 4 contenders" in one.get_data(as_text=True)
    empty = start_round(client, token, [pair(provider, "alpha"), pair(provider, "beta")], "  ")
    assert empty.status_code == 400
    assert "Type a prompt" in empty.get_data(as_text=True)
    with app.app_context():
        assert arena_queries.recent_rounds() == []


def test_arena_sessions_stay_out_of_the_chats(
    app: Flask, client: FlaskClient, provider: Provider
) -> None:
    token = csrf_token_from(client, "/rinha/")
    response = start_round(
        client, token, [pair(provider, "alpha"), pair(provider, "beta")], "zebra unique"
    )
    finish(app)
    arena_round = load_round(app, round_id_from(response))
    session_id = arena_round.contenders[0].session_id
    assert "zebra unique" not in client.get("/chats/").get_data(as_text=True)
    assert "zebra unique" not in client.get("/chats/search?q=zebra").get_data(as_text=True)
    assert client.get(f"/chats/{session_id}").status_code == 404
    with app.app_context():
        kinds = set(db.session.scalars(db.select(ChatSession.kind)))
        assert kinds == {SessionKind.ARENA}


def test_follow_up_each_contender_keeps_its_own_history(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    fake.script_model("alpha", reply="A says one")
    fake.script_model("beta", reply="B says one")
    token = csrf_token_from(client, "/rinha/")
    response = start_round(client, token, [pair(provider, "alpha"), pair(provider, "beta")])
    round_id = round_id_from(response)
    finish(app)
    fake.requests.clear()
    again = client.post(
        f"/rinha/{round_id}/messages", data={"csrf_token": token, "prompt": "E aí?"}
    )
    assert again.status_code == 303
    finish(app)
    sent = {r["json"]["model"]: r["json"]["messages"] for r in fake.requests if r["json"]}
    assert sent["alpha"][-3:] == [
        {"role": "user", "content": "Quem ganha?"},
        {"role": "assistant", "content": "A says one"},
        {"role": "user", "content": "E aí?"},
    ]
    assert {"role": "assistant", "content": "A says one"} not in sent["beta"]
    page = client.get(f"/rinha/{round_id}").get_data(as_text=True)
    assert 'id="turn-1"' in page and "E aí?" in page
    assert load_round(app, round_id).turns == 2


def test_stop_one_and_stop_all(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    for model in ("alpha", "beta", "gamma"):
        fake.script_model(model, chunks=[f"w{i} " for i in range(400)], delay=0.02)
    token = csrf_token_from(client, "/rinha/")
    response = start_round(client, token, [pair(provider, m) for m in ("alpha", "beta", "gamma")])
    round_id = round_id_from(response)
    answers = _answers(app, round_id)
    time.sleep(0.3)
    stop = client.post(
        f"/rinha/{round_id}/messages/{answers['alpha'].id}/stop", data={"csrf_token": token}
    )
    assert stop.status_code == 303
    time.sleep(0.3)
    assert _answers(app, round_id)["beta"].status == "streaming"  # the others go on
    client.post(f"/rinha/{round_id}/stop", data={"csrf_token": token})
    finish(app)
    after = _answers(app, round_id)
    assert {m: a.status for m, a in after.items()} == {
        "alpha": "stopped",
        "beta": "stopped",
        "gamma": "stopped",
    }


def test_hostile_output_stays_inert_while_streaming_and_after(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> '
    fake.script(chunks=[hostile, "**bold** ", "end"], delay=0.4)
    token = csrf_token_from(client, "/rinha/")
    response = start_round(client, token, [pair(provider, "alpha"), pair(provider, "beta")])
    round_id = round_id_from(response)
    answer = _answers(app, round_id)["alpha"]
    received = client.get(f"/rinha/{round_id}/messages/{answer.id}/stream").get_data(as_text=True)
    snapshots = [line for line in received.splitlines() if line.startswith('data: {"html"')]
    assert snapshots, received  # the text was sent while being written, as HTML
    assert "<script" not in received and "<img" not in received  # shown as text only
    assert "&lt;script&gt;alert(1)" in received
    assert "\\u003c" not in received.lower()  # no tag hidden in a JSON escape
    assert "<strong>bold</strong>" in received  # Markdown, through the sanitiser
    finish(app)
    page = client.get(f"/rinha/{round_id}").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page


def test_a_model_the_provider_does_not_know_fails_in_its_column(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    fake.script_model("alpha", reply="known model here")
    fake.script_model(
        "beta", status=404, error_body={"error": {"message": "The model `beta` does not exist"}}
    )
    token = csrf_token_from(client, "/rinha/")
    response = start_round(client, token, [pair(provider, "alpha"), pair(provider, "beta")])
    finish(app)
    answers = _answers(app, round_id_from(response))
    assert answers["alpha"].status == "complete"
    assert answers["beta"].status == "error" and answers["beta"].error_class == "not_found"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "known model here" in page and "does not exist" in page
