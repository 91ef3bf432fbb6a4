"""Chat titles named by a model (optional): after the first answer, one short request whose
cleaned answer becomes the title, recorded in A Cuca as a call of kind "title"."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calango.extensions import db
from calango.models import CallKind, ChatSession, Provider, ProviderCall
from calango.services.auto_titles import load_auto_title
from calango.services.composer import model_value
from tests.helpers import FAKE_MODEL, finish, messages_of, only_chat, send, wait_until

QUESTION = "Como faço um decorator em Python que mede o tempo de execução de funções?"


def _settle(app: Flask) -> None:
    """Wait for the answers and for the title requests their threads make after them."""
    finish(app)
    for thread in threading.enumerate():
        if thread.name.startswith("calango-answer-"):
            thread.join(20)


def _turn_on(client: FlaskClient, csrf: str, provider: Provider, model: str = FAKE_MODEL) -> Any:
    return client.post(
        "/settings/titles",
        data={"csrf_token": csrf, "enabled": "y", "model": model_value(provider.id, model)},
    )


def _title_calls(app: Flask) -> list[ProviderCall]:
    with app.app_context():
        rows = list(
            db.session.scalars(select(ProviderCall).where(ProviderCall.kind == CallKind.TITLE))
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def test_off_by_default_no_title_request(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    with app.app_context():
        assert load_auto_title().enabled is False
    send(client, csrf, QUESTION)
    _settle(app)
    assert len(fake.requests) == 1  # the answer only
    assert only_chat(app).title.startswith("Como faço um decorator")
    assert _title_calls(app) == []


def test_the_model_names_the_chat_cleaned_bounded_and_counted(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    assert _turn_on(client, csrf, provider).status_code == 302
    long_title = "**“Medir o tempo de funções com decorators em Python: um guia completo e curto”**"
    fake.script(replies=["Use functools.wraps e time.perf_counter.", long_title])
    response = send(client, csrf, QUESTION)
    _settle(app)
    chat = only_chat(app)
    assert chat.title.startswith("Medir o tempo de funções com decorators")
    assert len(chat.title) <= 60 and "*" not in chat.title and "“" not in chat.title
    _user, answer = messages_of(app, chat.id)
    assert answer.status == "complete"
    assert answer.content == "Use functools.wraps e time.perf_counter."
    title_request = fake.requests[1]["json"]
    assert QUESTION in title_request["messages"][1]["content"]
    assert "language" in title_request["messages"][0]["content"]

    (call,) = _title_calls(app)
    assert (call.provider, call.model, call.status) == ("Fake", FAKE_MODEL, "complete")
    assert call.prompt_tokens and call.completion_tokens
    expected = (Decimal(call.prompt_tokens) * 2 + Decimal(call.completion_tokens) * 8) / 10**6
    assert call.cost == expected.quantize(Decimal("0.00000001"))

    page = client.get(response.get_json()["chat_url"]).get_data(as_text=True)
    assert chat.title in page  # the chat page and its sidebar
    log = client.get("/cuca/log?kind=title").get_data(as_text=True)
    assert "Chat title" in log and FAKE_MODEL in log
    with app.test_request_context():
        from calango.i18n import format_money

        assert format_money(call.cost) in log


def test_only_the_first_answer_names_the_chat(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    _turn_on(client, csrf, provider)
    fake.script(replies=["Resposta.", "Primeiro título", "Outra resposta.", "Segundo título"])
    chat_id = send(client, csrf, QUESTION).get_json()["chat_id"]
    _settle(app)
    send(client, csrf, "E para métodos assíncronos?", chat_id=chat_id)
    _settle(app)
    assert only_chat(app).title == "Primeiro título"
    assert len(fake.requests) == 3
    assert len(_title_calls(app)) == 1


def test_a_failing_title_request_keeps_the_summary_and_the_answer(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    _turn_on(client, csrf, provider, model="other-model")
    fake.script(reply="A resposta inteira.")
    fake.script_model("other-model", status=500)
    send(client, csrf, QUESTION)
    _settle(app)
    chat = only_chat(app)
    assert chat.title.startswith("Como faço um decorator em Python")
    _user, answer = messages_of(app, chat.id)
    assert (answer.status, answer.content) == ("complete", "A resposta inteira.")
    (call,) = _title_calls(app)
    assert call.status == "error" and call.model == "other-model"


def test_a_chat_renamed_before_the_title_arrives_keeps_the_users_name(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    _turn_on(client, csrf, provider, model="other-model")
    fake.script(reply="Resposta.")
    fake.script_model("other-model", reply="Título do modelo", first_delay=1.0)
    send(client, csrf, QUESTION)
    wait_until(lambda: len(fake.requests) == 2)  # the title request is on its way
    with app.app_context():  # the user renames the chat meanwhile
        chat = db.session.get(ChatSession, only_chat(app).id)
        chat.title = "Meu nome"
        db.session.commit()
    _settle(app)
    assert only_chat(app).title == "Meu nome"
    assert len(_title_calls(app)) == 1


def test_the_settings_form_refuses_a_pair_not_offered(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider
) -> None:
    page = client.get("/settings/titles").get_data(as_text=True)
    assert "Name new chats with a model" in page
    assert model_value(provider.id, "other-model") in page
    for bad in (model_value(provider.id, "not-offered"), f"{provider.id + 99}:fake-model", "x"):
        response = client.post(
            "/settings/titles", data={"csrf_token": csrf, "enabled": "y", "model": bad}
        )
        assert response.status_code == 200
        assert "Choose one of the models shown." in response.get_data(as_text=True)
    with app.app_context():
        assert load_auto_title().enabled is False
    no_csrf = client.post("/settings/titles", data={"enabled": "y", "model": "1:fake-model"})
    assert no_csrf.status_code in (200, 400)
    with app.app_context():
        assert load_auto_title().enabled is False
    assert _turn_on(client, csrf, provider, "other-model").status_code == 302
    with app.app_context():
        saved = load_auto_title()
    assert saved.enabled is True and saved.model == model_value(provider.id, "other-model")
