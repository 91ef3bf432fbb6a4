"""A chat's spending cap and the composer's estimate (issue #17 item 5): the estimate's
values (a known price × tokens, an unknown price, a local model), another user's chat is a
404, a send past the cap is refused before the provider is called (JSON, no-JS form,
regenerate), the default cap from Settings, a capped send under its cap goes out."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.llm import estimate_tokens
from calango.models import ChatSession, Provider
from tests.chat.test_send_cost import MAX_STATEMENTS, statements_of_this_thread
from tests.helpers import FAKE_MODEL, add_provider, finish, messages_of, send

TEXT = "x" * 400  # 100 tokens: US$ 0.0002 at the fake model's US$ 2 per million input
BIG = "y" * 4000  # 1,000 tokens: US$ 0.002


def _pair(provider: Provider, model: str = FAKE_MODEL) -> str:
    return f"{provider.id}:{model}"


def estimate(
    client: FlaskClient, csrf: str, text: str, provider: Provider, chat_id: Any = None, **extra: str
) -> Any:
    url = f"/chats/{chat_id}/estimate" if chat_id else "/chats/estimate"
    model = _pair(provider, extra.pop("model", FAKE_MODEL))
    data = {"csrf_token": csrf, "content": text, "provider": provider.name, "model": model,
            "persona": "", **extra}  # fmt: skip
    return client.post(url, data=data, headers={"Accept": "application/json"})


def send_capped(
    client: FlaskClient, csrf: str, text: str, cap: str | None, chat_id: Any = None,
    json: bool = True,
) -> Any:  # fmt: skip
    url = f"/chats/{chat_id}/messages" if chat_id else "/chats/messages"
    data = {"csrf_token": csrf, "content": text, "provider": "Fake", "model": FAKE_MODEL,
            "persona": ""}  # fmt: skip
    if cap is not None:
        data["spend_cap"] = cap
    headers = {"Accept": "application/json"} if json else {}
    return client.post(url, data=data, headers=headers)


def test_the_estimate_of_a_new_chat_is_tokens_times_the_input_price(
    client: FlaskClient, csrf: str, provider: Provider
) -> None:
    response = estimate(client, csrf, TEXT, provider)
    assert response.status_code == 200
    body = response.get_json()
    assert body["tokens"] == 100
    assert Decimal(body["cost"]) == Decimal("0.0002")
    assert body["text"] == "Input: ≈ $0.000200 (100 tokens)"
    assert body["over_cap"] is False and body["cap_text"] == ""


def test_the_estimate_counts_the_persona_and_the_branch(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply="An answer of some length.")
    chat_id = send(client, csrf, "What is a calango?", persona="").get_json()["chat_id"]
    finish(app)
    history = estimate_tokens("What is a calango?") + estimate_tokens("An answer of some length.")
    body = estimate(client, csrf, TEXT, provider, chat_id=chat_id).get_json()
    assert body["tokens"] == history + 100
    with app.app_context():
        from calango.models import Persona

        prompt = db.session.scalar(
            db.select(Persona.prompt).where(Persona.name == "Calango (Default)")
        )
    with_persona = estimate(
        client, csrf, TEXT, provider, chat_id=chat_id, persona="Calango (Default)"
    ).get_json()
    assert with_persona["tokens"] == history + 100 + estimate_tokens(prompt)
    # An empty chat and an empty text: nothing to count but the persona.
    empty = estimate(client, csrf, "", provider, persona="Calango (Default)").get_json()
    assert empty["tokens"] == estimate_tokens(prompt)


def test_unknown_and_local_prices_are_said_so(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    unknown = estimate(client, csrf, TEXT, provider, model="other-model").get_json()
    assert unknown["cost"] is None and unknown["price_known"] is False
    assert unknown["text"] == "Input: price unknown for this model (100 tokens)"
    local = add_provider(
        app, None, name="Lhama", kind="openai", base_url=fake.openai_base_url,
        models=["llama3"], local_runtime=True,
    )  # fmt: skip
    body = estimate(client, csrf, TEXT, local, model="llama3").get_json()
    assert Decimal(body["cost"]) == 0
    assert body["text"] == "Input: free, a local model (100 tokens)"
    # A provider or model not offered: no estimate (the send says what is wrong).
    gone = estimate(client, csrf, TEXT, provider, model="not-there").get_json()
    assert gone["text"] == ""


def test_the_estimate_in_portuguese(client: FlaskClient, csrf: str, provider: Provider) -> None:
    response = client.post(
        "/chats/estimate",
        data={
            "csrf_token": csrf,
            "content": "x" * 4000,
            "provider": "Fake",
            "model": _pair(provider),
            "persona": "",
        },
        headers={"Accept": "application/json", "Accept-Language": "pt-BR"},
    )
    assert response.get_json()["text"] == "Entrada: ≈ US$\xa00,002000 (1.000 tokens)"


def test_the_estimate_of_another_users_chat_is_a_404(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider
) -> None:
    assert estimate(client, csrf, TEXT, provider, chat_id=uuid.uuid4()).status_code == 404
    # Without the CSRF token: refused, like every POST.
    bare = client.post("/chats/estimate", data={"content": "hi"})
    assert bare.status_code == 400


def test_a_send_past_the_cap_is_refused_before_the_provider_is_called(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    first = send_capped(client, csrf, "hello", cap="0.001")
    assert first.status_code == 201
    chat_id = first.get_json()["chat_id"]
    finish(app)
    spent = messages_of(app, chat_id)[1].cost
    assert spent and spent > 0
    calls = len(fake.requests)
    # The cap came along with the send (no field: the chat keeps its cap).
    with app.app_context():
        assert db.session.get(ChatSession, uuid.UUID(chat_id)).spend_cap_usd == Decimal("0.001")
    # The estimate says so before sending.
    body = estimate(client, csrf, BIG, provider, chat_id=chat_id).get_json()
    assert body["over_cap"] is True and "$0.001000" in body["warning"]
    assert body["cap_text"].startswith("Chat cap: $0.0000")  # this chat's spend
    refused = send_capped(client, csrf, BIG, cap=None, chat_id=chat_id)
    assert refused.status_code == 402
    message = refused.get_json()["error"]
    assert "spending cap of $0.001000" in message and "$0.000" in message
    assert len(fake.requests) == calls, "the provider was called"
    assert len(messages_of(app, chat_id)) == 2, "nothing was saved"
    # Without the script: the chat page with the refusal and the typed text kept.
    page = send_capped(client, csrf, BIG, cap="0.001", chat_id=chat_id, json=False)
    assert page.status_code == 402
    html = page.get_data(as_text=True)
    assert "spending cap of $0.001000" in html and BIG in html
    assert len(fake.requests) == calls
    # Regenerating the answer sends the same context again: refused too, and flashed.
    answer = messages_of(app, chat_id)[1]
    with app.app_context():
        chat = db.session.get(ChatSession, uuid.UUID(chat_id))
        chat.spend_cap_usd = Decimal(spent) + Decimal("0.0000001")
        db.session.commit()
    again = client.post(
        f"/chats/{chat_id}/messages/{answer.id}/regenerate",
        data={"csrf_token": csrf, "provider": "Fake", "model": FAKE_MODEL, "persona": ""},
    )
    assert again.status_code == 303
    assert "spending cap" in client.get(again.location).get_data(as_text=True)
    assert len(fake.requests) == calls
    # Raising the cap in the composer sends it.
    raised = send_capped(client, csrf, BIG, cap="1", chat_id=chat_id)
    assert raised.status_code == 201
    finish(app)
    assert len(fake.requests) == calls + 1


def test_the_default_cap_from_settings(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    assert client.get("/settings/spending").status_code == 200
    bad = client.post("/settings/spending", data={"csrf_token": csrf, "default_cap": "-1"})
    assert bad.status_code == 200 and "from 0 to" in bad.get_data(as_text=True)
    saved = client.post("/settings/spending", data={"csrf_token": csrf, "default_cap": "0,0001"})
    assert saved.status_code == 302
    assert 'value="0.0001"' in client.get("/settings/spending").get_data(as_text=True)
    # A new chat: nothing spent yet, but this message alone would pass the default cap.
    refused = send_capped(client, csrf, TEXT, cap="")
    assert refused.status_code == 402
    assert "spending cap of $0.000100" in refused.get_json()["error"]
    assert fake.requests == []
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ChatSession)) == 0
    # The composer shows the default as the field's placeholder, the estimate the cap.
    page = client.get("/chats/").get_data(as_text=True)
    assert re.search(r'id="spend_cap"[^>]*placeholder="\$0.0001', page)
    assert estimate(client, csrf, TEXT, provider).get_json()["over_cap"] is True
    # Under the cap: sent.
    sent = send_capped(client, csrf, "hi", cap="")
    assert sent.status_code == 201
    finish(app)
    assert len(fake.requests) == 1
    # A chat's own cap wins over the default.
    own = send_capped(client, csrf, TEXT, cap="5")
    assert own.status_code == 201
    finish(app)


def test_a_bad_cap_is_refused_with_a_clear_message(
    client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    response = send_capped(client, csrf, "hello", cap="lots")
    assert response.status_code == 400
    assert "spending cap must be an amount" in response.get_json()["error"]
    assert fake.requests == []


def test_a_capped_send_adds_at_most_one_statement(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = send_capped(client, csrf, "first", cap="10").get_json()["chat_id"]
    finish(app)
    with statements_of_this_thread(app) as seen:
        response = send_capped(client, csrf, "again", cap=None, chat_id=chat_id)
    assert response.status_code == 201
    assert len(seen) <= MAX_STATEMENTS + 1, "\n\n".join(seen)
    finish(app)
