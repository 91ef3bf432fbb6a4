"""Language: built-in personas in the first visitor's language, one word for "chat" in pt-BR,
transport jargon kept out of provider error sentences, no emoji glyphs as icons."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from calango.extensions import db
from calango.llm import ConnectionLostError, ProviderTimeoutError, ServerError
from calango.models import Persona
from calango.services.builtin_personas import LOCALIZED_KEY
from calango.services.provider_errors import describe_provider_error

ROOT = Path(__file__).resolve().parents[2]
PT = {"Accept-Language": "pt-BR"}


def _personas(app: Flask) -> dict[str, str]:
    with app.app_context():
        return {p.name: p.prompt for p in db.session.scalars(Persona.select_all())}


def test_the_built_in_personas_speak_the_first_visitors_language(
    app: Flask, client: FlaskClient
) -> None:
    assert set(_personas(app)) == {"Calango (Default)", "Python Expert"}
    client.get("/settings/", headers=PT)  # not a page showing personas: nothing yet
    assert set(_personas(app)) == {"Calango (Default)", "Python Expert"}
    page = client.get("/", headers=PT).get_data(as_text=True)
    personas = _personas(app)
    assert personas == {
        "Calango (Padrão)": "Você é um assistente de IA prestativo.",
        "Especialista em Python": personas["Especialista em Python"],
    }
    assert personas["Especialista em Python"].startswith("Você é um engenheiro Python sênior")
    # The composer preselects the default persona under its new name.
    assert re.search(
        r'<option selected value="Calango \(Padrão\)"|<option value="Calango \(Padrão\)" selected',
        page,
    ), page
    # Done once: a later English visit changes nothing.
    client.get("/chats/", headers={"Accept-Language": "en"})
    assert "Calango (Padrão)" in _personas(app)


def test_an_edited_built_in_persona_is_left_alone(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        persona = db.session.scalars(Persona.select_by_name("Python Expert")).one()
        persona.prompt = "My own words."
        db.session.commit()
    client.get("/personas/", headers=PT)
    personas = _personas(app)
    assert personas["Python Expert"] == "My own words."
    assert "Calango (Padrão)" in personas


def test_an_english_first_visit_keeps_english_and_marks_it_done(
    app: Flask, client: FlaskClient
) -> None:
    client.get("/chats/", headers={"Accept-Language": "en"})
    client.get("/chats/", headers=PT)
    assert set(_personas(app)) == {"Calango (Default)", "Python Expert"}
    with app.app_context():
        from calango.accounts import local_user_id
        from calango.services.preferences import user_value

        assert user_value(local_user_id(), LOCALIZED_KEY) == "en"


def test_pt_br_says_chat_for_chat() -> None:
    catalog = read_po((ROOT / "calango/translations/pt_BR/LC_MESSAGES/messages.po").open("rb"))
    offenders = []
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        # ChatGPT's own "conversations" (its export's) may stay "conversas".
        if "conversation" in " ".join(i or "" for i in ids):
            continue
        if any(re.search(r"\bchats?\b", i or "", re.I) for i in ids) and any(
            re.search(r"\bconversas?\b", s or "", re.I) for s in strings
        ):
            offenders.append(ids[0])
    assert not offenders, offenders
    translated = {m.id: m.string for m in catalog if isinstance(m.id, str)}
    assert translated["New chat"] == "Novo chat"
    assert translated["Chats"] == "Chats"


def test_transport_jargon_stays_out_of_the_sentence(app: Flask) -> None:
    refused = ConnectionLostError(
        "could not reach the provider", detail="[Errno 111] Connection refused"
    )
    with app.test_request_context(), force_locale("pt_BR"):
        text = describe_provider_error(refused, "Ollama")
        timeout = describe_provider_error(
            ProviderTimeoutError("timed out", detail="The read operation timed out"), "Ollama"
        )
        unknown = describe_provider_error(
            ConnectionLostError("lost", detail="httpx.RemoteProtocolError: weird"), "Ollama"
        )
        server = describe_provider_error(ServerError("x", 500, detail="model overloaded"), "Groq")
    assert "Errno" not in text and "refused" not in text
    assert "Ollama" in text and "servidor está rodando" in text
    assert "read operation" not in timeout and "Ollama" in timeout
    assert "httpx" not in unknown and "Ollama" in unknown
    # What the provider itself said still follows.
    assert "model overloaded" in server


def test_icons_are_drawn_not_emoji_glyphs() -> None:
    glyphs = re.compile("[\u2600-\u27bf\U0001f300-\U0001faff\u2b50]")
    offenders = []
    for path in [*(ROOT / "templates").rglob("*.html"), *(ROOT / "static/css").glob("*.css")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if glyphs.search(line) and "{#" not in line and "/*" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not offenders, "\n".join(offenders)


def test_no_empty_provider_or_model_menus(app: Flask, client: FlaskClient) -> None:
    from tests.helpers import add_provider

    page = client.get("/chats/").get_data(as_text=True)
    assert 'id="provider"' not in page and 'id="model"' not in page
    line = re.search(r'<p class="composer-no-models[^"]*" id="no-models">(.*?)</p>', page, re.S)
    assert line and 'href="/settings/providers"' in line.group(1), page
    # A provider without models is no better: still the line, never empty menus.
    add_provider(app, "sk-x", name="Empty", kind="openai", base_url="https://x.example/v1")
    page = client.get("/chats/").get_data(as_text=True)
    assert 'id="model"' not in page and 'id="no-models"' in page
    add_provider(
        app, "sk-y", name="Full", kind="openai", base_url="https://y.example/v1", models=["m"]
    )
    page = client.get("/chats/").get_data(as_text=True)
    assert 'id="model"' in page and 'id="no-models"' not in page


def test_a_built_in_persona_sent_under_its_english_name_still_finds_it(
    app: Flask, client: FlaskClient, fake: object
) -> None:
    from tests.helpers import add_provider, csrf_token_from, finish, messages_of, send

    add_provider(app, "k", name="Fake", kind="openai", base_url=fake.openai_base_url,  # type: ignore[attr-defined]
                 models=["fake-small"])  # fmt: skip
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "pt-BR"
    token = csrf_token_from(client)  # the first visit: the personas are now in Portuguese
    assert "Calango (Padrão)" in _personas(app)
    response = send(client, token, "oi", provider="Fake", model="fake-small")  # "Calango (Default)"
    assert response.status_code == 201, response.get_data(as_text=True)
    finish(app)
    user = messages_of(app, response.get_json()["chat_id"])[0]
    assert user.persona == "Calango (Padrão)"


def test_a_persona_with_the_exact_name_wins_over_a_built_in_in_another_language(
    app: Flask, client: FlaskClient, fake: object
) -> None:
    from tests.helpers import add_provider, csrf_token_from, finish, messages_of, send

    add_provider(app, "k", name="Fake", kind="openai", base_url=fake.openai_base_url,  # type: ignore[attr-defined]
                 models=["fake-small"])  # fmt: skip
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "pt-BR"
    token = csrf_token_from(client)  # the built-in personas are now in Portuguese
    with app.app_context():
        db.session.add(Persona(name="Calango (Default)", prompt="My own English one."))
        db.session.commit()
    for name in ("Calango (Default)", "Calango (Padrão)"):
        response = send(client, token, "oi", provider="Fake", model="fake-small", persona=name)
        assert response.status_code == 201, response.get_data(as_text=True)
        finish(app)
        user = messages_of(app, response.get_json()["chat_id"])[0]
        assert user.persona == name
