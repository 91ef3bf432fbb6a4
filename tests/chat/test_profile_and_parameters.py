"""The "who I am" profile in the context, per-chat model parameters with persona defaults
(sent in each adapter's own form, saved on each answer), a chat's totals and starters."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import Persona, Provider
from tests.helpers import FAKE_MODEL, finish, messages_of, only_chat

PROFILE = {
    "enabled": "y",
    "name": "Ana",
    "language": "Brazilian Portuguese",
    "work": "I teach chemistry.",
    "style": "Short answers with one example.",
}


def _save_profile(client: FlaskClient, csrf: str, **changes: str) -> None:
    data = {"csrf_token": csrf, **PROFILE, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    assert client.post("/settings/profile", data=data).status_code == 302


def _send(client: FlaskClient, csrf: str, text: str = "Oi", chat_id: Any = None, **extra: str):
    url = f"/chats/{chat_id}/messages" if chat_id else "/chats/messages"
    data = {
        "csrf_token": csrf,
        "content": text,
        "provider": "Fake",
        "model": FAKE_MODEL,
        "persona": "Calango (Default)",
        **extra,
    }
    return client.post(url, data=data, headers={"Accept": "application/json"})


def test_the_profile_is_a_second_system_block_and_the_answer_says_so(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    _save_profile(client, csrf)
    fake.script(echo_system=True)
    assert _send(client, csrf, profile="y", profile_offered="1").status_code == 201
    finish(app)
    chat = only_chat(app)
    _, answer = messages_of(app, chat.id)
    # The fake answers with the system text it received: the persona, then the profile.
    assert "Call them: Ana" in answer.content
    assert "Their language: Brazilian Portuguese" in answer.content
    system = [m for m in fake.requests[-1]["json"]["messages"] if m["role"] == "system"]
    assert len(system) == 2 and "Ana" in system[1]["content"] and "Ana" not in system[0]["content"]
    assert answer.profile_sent is True
    assert "profile sent" in client.get(f"/chats/{chat.id}").get_data(as_text=True)


def test_a_chat_can_leave_the_profile_out(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    _save_profile(client, csrf)
    _send(client, csrf, profile_offered="1")  # the box unticked
    finish(app)
    chat = only_chat(app)
    assert all("Ana" not in m["content"] for m in fake.requests[-1]["json"]["messages"])
    assert messages_of(app, chat.id)[1].profile_sent is False
    page = client.get(f"/chats/{chat.id}").get_data(as_text=True)
    assert "profile sent" not in page
    assert (
        'id="profile"' in page and 'id="profile" name="profile" type="checkbox" value="y">' in page
    )
    # A send without the box (a script, an older page) keeps the chat's choice.
    _send(client, csrf, "again", chat_id=chat.id)
    finish(app)
    assert all("Ana" not in m["content"] for m in fake.requests[-1]["json"]["messages"])


def test_a_disabled_profile_is_not_sent_nor_offered(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    _save_profile(client, csrf, enabled=None)
    assert 'id="profile"' not in client.get("/chats/").get_data(as_text=True)
    _send(client, csrf)
    finish(app)
    assert all("Ana" not in m["content"] for m in fake.requests[-1]["json"]["messages"])


def test_profile_fields_are_bounded(app: Flask, client: FlaskClient, csrf: str) -> None:
    page = client.post(
        "/settings/profile", data={"csrf_token": csrf, **PROFILE, "name": "A" * 81}
    ).get_data(as_text=True)
    assert "Keep it to 80 characters or fewer." in page


def test_parameters_are_sent_to_an_openai_compatible_server_and_saved(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    response = _send(client, csrf, temperature="0,4", max_tokens="512", effort="high")
    assert response.status_code == 201
    finish(app)
    body = fake.requests[-1]["json"]
    assert body["temperature"] == 0.4
    # A compatible server (not OpenAI's own) gets max_tokens; "fake-model" is no reasoning model.
    assert body["max_tokens"] == 512 and "max_completion_tokens" not in body
    assert "reasoning_effort" not in body
    chat = only_chat(app)
    answer = messages_of(app, chat.id)[1]
    assert answer.params == {"temperature": 0.4, "max_tokens": 512, "effort": "high"}
    assert chat.params == {"temperature": 0.4, "max_tokens": 512, "effort": "high"}
    page = client.get(f"/chats/{chat.id}").get_data(as_text=True)
    assert "temperature 0.4" in page and "limit 512 tokens" in page
    field = (
        page.split('id="temperature"')[0].rsplit("<input", 1)[1]
        + page.split('id="temperature"')[1].split(">")[0]
    )
    assert 'value="0.4"' in field, "the composer keeps the chat's parameters"


def test_a_reasoning_model_gets_the_effort(
    app: Flask, client: FlaskClient, csrf: str, fake: Any
) -> None:
    from tests.helpers import add_provider

    add_provider(
        app, "sk-x", name="Fake", kind="openai", base_url=fake.openai_base_url, models=["o3-mini"]
    )
    data = {"model": "o3-mini", "effort": "low"}
    response = client.post(
        "/chats/messages",
        data={"csrf_token": csrf, "content": "hi", "provider": "Fake", "persona": "", **data},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 201
    finish(app)
    assert fake.requests[-1]["json"]["reasoning_effort"] == "low"


def test_anthropic_gets_its_own_form(app: Flask, client: FlaskClient, csrf: str, fake: Any) -> None:
    from tests.helpers import add_provider

    add_provider(
        app,
        "sk-ant",
        name="Claude",
        kind="anthropic",
        base_url=fake.anthropic_base_url,
        models=["claude-sonnet-4-5", "claude-fake"],
    )

    def send(model: str, **params: str) -> dict[str, Any]:
        response = client.post(
            "/chats/messages",
            data={"csrf_token": csrf, "content": "hi", "provider": "Claude", "model": model,
                  "persona": "", **params},
            headers={"Accept": "application/json"},
        )  # fmt: skip
        assert response.status_code == 201
        finish(app)
        return fake.requests[-1]["json"]

    body = send("claude-fake", temperature="1.5", max_tokens="300")
    assert (body["temperature"], body["max_tokens"]) == (1.0, 300)  # Anthropic's range is 0–1
    assert "thinking" not in body
    body = send("claude-sonnet-4-5", temperature="0.2", max_tokens="2000", effort="medium")
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert body["max_tokens"] > 4096 and "temperature" not in body


def test_persona_defaults_fill_what_the_chat_does_not_set(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    with app.app_context():
        db.session.add(
            Persona(name="Frio", prompt="Be exact.", params={"temperature": 0.1, "max_tokens": 99})
        )
        db.session.commit()
    response = _send(client, csrf, persona="Frio", max_tokens="1000")
    assert response.status_code == 201
    finish(app)
    body = fake.requests[-1]["json"]
    assert (body["temperature"], body["max_tokens"]) == (0.1, 1000)
    chat = only_chat(app)
    assert chat.params == {"max_tokens": 1000}, "the chat keeps only what it set"
    assert messages_of(app, chat.id)[1].params == {"temperature": 0.1, "max_tokens": 1000}


def test_out_of_range_parameters_are_refused_before_any_call(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    response = _send(client, csrf, temperature="9")
    assert response.status_code == 400
    assert "temperature must be a number from 0 to 2" in response.get_json()["error"]
    response = _send(client, csrf, max_tokens="-5")
    assert "output limit" in response.get_json()["error"]
    response = _send(client, csrf, effort="maximum")
    assert "reasoning effort" in response.get_json()["error"]
    assert not [r for r in fake.requests if r["method"] == "POST"]


def test_the_chat_header_shows_its_totals(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    _send(client, csrf, "one")
    finish(app)
    chat = only_chat(app)
    _send(client, csrf, "two", chat_id=chat.id)
    finish(app)
    answers = [m for m in messages_of(app, chat.id) if m.role == "assistant"]
    tokens = sum((m.prompt_tokens or 0) + (m.completion_tokens or 0) for m in answers)
    page = client.get(f"/chats/{chat.id}").get_data(as_text=True)
    assert 'id="chat-totals"' in page
    assert f"{tokens:,} tokens" in page
    assert "$" in page.split('id="chat-totals"')[1].split("</p>")[0]


def test_starters_show_on_an_empty_chat_and_post_without_the_script(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    with app.app_context():
        persona = Persona(name="Tutor", prompt="Teach.", starters=["Explique a crase"])
        db.session.add(persona)
        db.session.commit()
        persona_id = persona.id
    page = client.get(f"/chats/?persona={persona_id}").get_data(as_text=True)
    assert 'name="starter" value="Explique a crase"' in page
    response = client.post(
        "/chats/messages",
        data={"csrf_token": csrf, "content": "", "starter": "Explique a crase",
              "provider": "Fake", "model": FAKE_MODEL, "persona": "Tutor"},
    )  # fmt: skip
    assert response.status_code in (302, 303)
    finish(app)
    assert messages_of(app, only_chat(app).id)[0].content == "Explique a crase"


def test_starting_from_a_persona_preselects_its_provider_and_model(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    with app.app_context():
        persona = Persona(
            name="Lenta", prompt="p", default_provider="Fake", default_model="other-model"
        )
        db.session.add(persona)
        db.session.commit()
        persona_id = persona.id
    page = client.get(f"/chats/?persona={persona_id}").get_data(as_text=True)
    assert f'<option selected value="{provider.id}:other-model">' in page
    assert '<option selected value="Lenta">' in page
    # A persona that no longer exists is ignored.
    assert client.get("/chats/?persona=999999").status_code == 200
