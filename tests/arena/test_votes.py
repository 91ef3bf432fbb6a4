"""Votes (blind or not), the leaderboard, continue in a chat, delete and clear, A Cuca."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import ArenaRound, ChatMessage, ChatSession, Provider, SessionKind
from calango.services.call_query import CallFilter, calls
from tests.arena.conftest import load_round, pair, round_id_from, start_round
from tests.helpers import csrf_token_from, finish, flashes


def _round(
    client: FlaskClient, app: Flask, provider: Provider, models: list[str], **kw: Any
) -> int:
    token = csrf_token_from(client, "/rinha/")
    response = start_round(client, token, [pair(provider, m) for m in models], **kw)
    assert response.status_code == 303
    finish(app)
    return round_id_from(response)


def _vote(client: FlaskClient, round_id: int, outcome: str, turn: int = 0) -> Any:
    token = csrf_token_from(client, f"/rinha/{round_id}")
    return client.post(
        f"/rinha/{round_id}/turns/{turn}/vote", data={"csrf_token": token, "outcome": outcome}
    )


def _column_labels(page: str) -> list[str]:
    return re.findall(r'<h3 class="arena-label">([^<]*)</h3>', page)


def test_blind_round_hides_the_names_until_the_vote(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    for model in ("alpha", "beta", "gamma"):
        fake.script_model(model, reply=f"answer of {model}")
    round_id = _round(client, app, provider, ["alpha", "beta", "gamma"], blind=True)
    page = client.get(f"/rinha/{round_id}").get_data(as_text=True)
    assert _column_labels(page) == ["Contender A", "Contender B", "Contender C"]
    for model in ("alpha", "beta", "gamma"):
        assert model not in page.split('<section class="arena-turn"')[1].split("answer of")[0]
    main = page.split("<main")[1]
    assert "Fake" not in main, [main[max(0, i - 200) : i + 50] for i in [main.find("Fake")]]
    listing = client.get("/rinha/").get_data(as_text=True)
    rounds = listing.split('id="rounds-h"')[1]
    assert "3 contenders, blind" in rounds and "alpha" not in rounds

    # The column order is the round's random one; vote for the column showing beta.
    arena_round = load_round(app, round_id)
    beta = next(c for c in arena_round.contenders if c.model == "beta")
    assert _vote(client, round_id, f"winner:{beta.position}").status_code == 303
    # The page names columns by position: the slot (the order the models were picked in)
    # would give them away.
    assert "data-slot" not in page and "/contenders/" not in page
    page = client.get(f"/rinha/{round_id}").get_data(as_text=True)
    labels = _column_labels(page)
    assert sorted(labels) == ["alpha · Fake", "beta · Fake", "gamma · Fake"]
    assert labels[beta.position] == "beta · Fake"
    assert "beta · Fake is best (your vote)" in page


def test_blind_order_is_random(app: Flask, client: FlaskClient, provider: Provider) -> None:
    orders = set()
    for _ in range(12):
        round_id = _round(client, app, provider, ["alpha", "beta", "gamma", "delta"], blind=True)
        contenders = load_round(app, round_id).contenders
        orders.add(tuple(c.slot for c in sorted(contenders, key=lambda c: c.position)))
    assert len(orders) > 1  # 12 rounds all in one order: p = 24⁻¹¹


def test_votes_are_replaced_and_checked(
    app: Flask, client: FlaskClient, provider: Provider
) -> None:
    round_id = _round(client, app, provider, ["alpha", "beta"])
    _vote(client, round_id, "winner:0")
    _vote(client, round_id, "tie")
    arena_round = load_round(app, round_id)
    assert [(v.turn, v.outcome, v.winner_slot) for v in arena_round.votes] == [(0, "tie", None)]
    flashes(client)
    _vote(client, round_id, "winner:7")
    assert "Pick the best answer, a tie, or all bad." in flashes(client)
    _vote(client, round_id, "tie", turn=3)
    assert "This round has no such turn." in flashes(client)
    assert len(load_round(app, round_id).votes) == 1


def test_leaderboard_ranks_by_votes_with_interval_cost_and_ttft(
    app: Flask, client: FlaskClient, provider: Provider, fake: Any
) -> None:
    for _ in range(3):
        round_id = _round(client, app, provider, ["alpha", "beta"])
        _vote(client, round_id, "winner:1")  # beta wins
    round_id = _round(client, app, provider, ["alpha", "beta"])
    _vote(client, round_id, "all_bad")
    page = client.get("/rinha/leaderboard").get_data(as_text=True)
    rows = re.findall(r'<td class="arena-model">(\w+)', page)
    assert rows == ["beta", "alpha"]
    assert "From 4 votes." in page
    assert "75%" in page  # beta won 3 of its 4 votes
    assert re.search(r"\d{3,4}–\d{3,4}", page)  # the interval
    assert "$" in page  # average cost per answer
    assert re.search(r"\d+[.,]\d+ s", page)  # median time to first token
    # The period filter: nothing in an empty past period is shown (all are today's).
    assert "No votes yet" not in client.get("/rinha/leaderboard?period=7").get_data(as_text=True)
    bad = client.get("/rinha/leaderboard?period=nonsense&persona=nobody")
    assert bad.status_code == 200


def test_leaderboard_by_persona(app: Flask, client: FlaskClient, provider: Provider) -> None:
    with app.app_context():
        from calango.models import Persona

        pirate = Persona(name="Pirate", prompt="Arr.")
        db.session.add(pirate)
        db.session.commit()
        pirate_id = str(pirate.id)
    token = csrf_token_from(client, "/rinha/")
    response = start_round(
        client, token, [pair(provider, "alpha"), pair(provider, "gamma")], persona=pirate_id
    )
    finish(app)
    _vote(client, round_id_from(response), "winner:1")
    round_id = _round(client, app, provider, ["alpha", "beta"])
    _vote(client, round_id, "winner:0")
    page = client.get("/rinha/leaderboard?persona=Pirate").get_data(as_text=True)
    assert re.findall(r'<td class="arena-model">(\w+)', page) == ["gamma", "alpha"]
    page = client.get("/rinha/leaderboard").get_data(as_text=True)
    assert set(re.findall(r'<td class="arena-model">(\w+)', page)) == {"alpha", "beta", "gamma"}


def test_continue_in_a_chat(app: Flask, client: FlaskClient, provider: Provider, fake: Any) -> None:
    fake.script_model("alpha", reply="alpha's take")
    fake.script_model("beta", reply="beta's take")
    round_id = _round(client, app, provider, ["alpha", "beta"])
    token = csrf_token_from(client, f"/rinha/{round_id}")
    response = client.post(f"/rinha/{round_id}/columns/1/continue", data={"csrf_token": token})
    assert response.status_code == 303
    chat_url = response.headers["Location"]
    assert "/chats/" in chat_url
    chat_page = client.get(chat_url).get_data(as_text=True)
    assert "beta&#39;s take" in chat_page or "beta's take" in chat_page
    assert "Quem ganha?" in client.get("/chats/").get_data(as_text=True)  # in the sidebar
    # Sending in the chat continues beta's history.
    fake.requests.clear()
    chat_id = chat_url.rstrip("/").split("/")[-1]
    client.post(
        f"/chats/{chat_id}/messages",
        data={"csrf_token": token, "content": "more", "provider": "Fake",
              "model": pair(provider, "beta"), "persona": ""},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    finish(app)
    sent = fake.requests[-1]["json"]["messages"]
    assert {"role": "assistant", "content": "beta's take"} in sent
    # The round still shows beta's first turn and offers a link to the chat.
    page = client.get(f"/rinha/{round_id}").get_data(as_text=True)
    assert "beta&#39;s take" in page or "beta's take" in page
    assert "Open the chat with beta · Fake" in page
    assert "more" not in page.split("<main")[1].split("Continue in a chat")[0]
    # Each answer is counted once by A Cuca: beta's first answer is now a chat answer.
    with app.app_context():
        rows = db.session.execute(db.select(calls(CallFilter()))).all()
        kinds = sorted(r.kind for r in rows)
        assert kinds == ["arena", "chat", "chat"]


def test_arena_answers_are_recorded_for_a_cuca(
    app: Flask, client: FlaskClient, provider: Provider
) -> None:
    _round(client, app, provider, ["alpha", "beta"])
    with app.app_context():
        arena = db.session.execute(db.select(calls(CallFilter(kind="arena")))).all()
        chat = db.session.execute(db.select(calls(CallFilter(kind="chat")))).all()
        assert {(r.model, r.status) for r in arena} == {("alpha", "complete"), ("beta", "complete")}
        assert all(r.cost is not None and r.ttft_ms is not None for r in arena)
        assert chat == []
    log = client.get("/cuca/log").get_data(as_text=True)
    assert "A Rinha answer" in log and "/rinha/session/" in log


def test_delete_a_round_and_clear_the_arena(
    app: Flask, client: FlaskClient, provider: Provider
) -> None:
    first = _round(client, app, provider, ["alpha", "beta"], prompt="primeira")
    second = _round(client, app, provider, ["alpha", "gamma"], prompt="segunda")
    listing = client.get("/rinha/").get_data(as_text=True)
    assert listing.index("segunda") < listing.index("primeira")  # newest first
    token = csrf_token_from(client, "/rinha/")
    assert client.get(f"/rinha/{first}/delete").status_code == 200
    client.post(f"/rinha/{first}/delete", data={"csrf_token": token})
    assert client.get(f"/rinha/{first}").status_code == 404
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ChatSession)) == 2
    confirm = client.get("/rinha/clear").get_data(as_text=True)
    assert "1 round" in confirm
    client.post(f"/rinha/{second}/columns/0/continue", data={"csrf_token": token})
    client.post("/rinha/clear", data={"csrf_token": token})
    with app.app_context():
        assert db.session.scalars(db.select(ArenaRound)).all() == []
        # The chat continued from a round stays, with its messages.
        sessions = db.session.scalars(db.select(ChatSession)).all()
        assert [s.kind for s in sessions] == [SessionKind.CHAT]
        assert db.session.scalar(db.select(db.func.count()).select_from(ChatMessage)) == 2


def test_the_contender_choice_is_remembered(
    app: Flask, client: FlaskClient, provider: Provider
) -> None:
    _round(client, app, provider, ["gamma", "delta", "alpha"], blind=True)
    page = client.get("/rinha/").get_data(as_text=True)
    selected = re.findall(r'<option selected value="([^"]+)"', page)
    assert selected[:3] == [pair(provider, m) for m in ("gamma", "delta", "alpha")]
    assert re.search(r'<input checked id="blind"', page)


def test_rounds_are_paged_newest_first(app: Flask, client: FlaskClient) -> None:
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 1, 1, tzinfo=UTC)
    with app.app_context():
        for n in range(55):
            moment = start + timedelta(hours=n)
            db.session.add(ArenaRound(title=f"round {n:02d}", created_at=moment, updated_at=moment))
        db.session.commit()
    first = client.get("/rinha/").get_data(as_text=True)
    assert "round 54" in first and "round 05" in first and "round 04" not in first
    older = re.search(r'href="(/rinha/\?before=\d+)"', first)
    assert older
    second = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    titles = re.findall(r">round (\d\d)</a>", second)
    assert titles == ["04", "03", "02", "01", "00"]
    assert client.get("/rinha/?before=99999999999").status_code == 200
