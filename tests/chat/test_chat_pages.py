"""The chat pages: bad input, safety of rendered text, sidebar, rename and delete."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Provider
from calango.models.types import utcnow
from tests.helpers import finish, messages_of, only_chat, send


def _count_messages(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(ChatMessage)) or 0


def test_empty_message_is_refused_with_a_message(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider
) -> None:
    response = send(client, csrf, "   \n ", json=False)
    assert response.status_code == 400
    assert "Type a message before sending." in response.get_data(as_text=True)
    assert _count_messages(app) == 0
    assert send(client, csrf, "").get_json()["error"] == "Type a message before sending."


def test_too_long_message_gets_413_naming_the_limit_and_keeps_the_text(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider
) -> None:
    app.config["MAX_MESSAGE_CHARS"] = 1000
    text = "lorem ipsum " * 100 + "THE-END"
    response = send(client, csrf, text, json=False)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "the limit is 1,000" in page
    assert "THE-END" in page  # the textarea still holds what was typed
    assert _count_messages(app) == 0


def test_unknown_chat_is_404(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider
) -> None:
    missing = uuid.uuid4()
    assert client.get(f"/chats/{missing}").status_code == 404
    response = send(client, csrf, "hello", chat_id=missing, json=False)
    assert response.status_code == 404
    assert "does not exist" in response.get_data(as_text=True)
    assert _count_messages(app) == 0


def test_provider_without_key_says_where_to_add_one(
    app: Flask, client: FlaskClient, csrf: str, monkeypatch: Any
) -> None:
    with app.app_context():
        db.session.add(
            Provider(
                name="Groq",
                kind="openai",
                base_url="https://api.groq.com/openai/v1",
                models=["llama-3.1-8b-instant"],
            )
        )
        db.session.commit()
    response = send(client, csrf, "hi", provider="Groq", model="llama-3.1-8b-instant", json=False)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "has no API key" in page and "GROQ_API_KEY" in page
    assert "hi</textarea>" in page
    assert _count_messages(app) == 0


def test_disabled_provider_and_removed_model_are_refused(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider
) -> None:
    body = send(client, csrf, "hi", model="gone-model").get_json()
    assert "is not offered by" in body["error"]
    with app.app_context():
        db.session.get(Provider, provider.id).enabled = False
        db.session.commit()
    body = send(client, csrf, "hi").get_json()
    assert "is disabled" in body["error"]
    body = send(client, csrf, "hi", provider="Nope").get_json()
    assert "no longer exists" in body["error"]
    assert _count_messages(app) == 0


def test_first_run_points_to_the_providers_page_and_offers_env_keys(
    app: Flask, client: FlaskClient, monkeypatch: Any
) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Set up a provider to start chatting" in page
    assert 'href="/settings/providers"' in page
    assert "Ready to set up" not in page
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-123")
    page = client.get("/").get_data(as_text=True)
    assert "Ready to set up" in page and "OPENAI_API_KEY" in page
    assert "sk-from-the-environment-123" not in page
    assert 'action="/settings/providers/setup"' in page


def test_model_output_and_user_html_stay_inert(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(
        reply="<img src=x onerror=alert(1)> and [x](javascript:alert(1)) <script>alert(2)</script>"
    )
    chat_id = send(client, csrf, "<b onmouseover=alert(3)>bold</b>").get_json()["chat_id"]
    finish(app)
    response = client.get(f"/chats/{chat_id}")
    page = response.get_data(as_text=True)
    conversation = page.split('id="conversation"', 1)[1]
    assert "<img" not in conversation
    assert 'href="javascript:' not in conversation
    assert "<script>alert" not in conversation
    assert "<b onmouseover" not in conversation
    assert "&lt;img src=x onerror=alert(1)&gt;" in conversation  # shown as text
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )


def test_markdown_tables_and_highlighted_code(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply="| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\ndef f():\n    return 1\n```\n")
    chat_id = send(client, csrf, "table and code").get_json()["chat_id"]
    finish(app)
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert "<table>" in page and "<td>1</td>" in page
    assert '<span class="k">def</span>' in page


def test_sidebar_lists_recent_chats_first_and_paginates(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        base = utcnow()
        from datetime import timedelta

        for i in range(35):
            t = base - timedelta(minutes=i)
            db.session.add(ChatSession(title=f"Chat number {i:02d}", created_at=t, updated_at=t))
        db.session.commit()
    first = client.get("/chats/").get_data(as_text=True)
    assert first.index("Chat number 00") < first.index("Chat number 01")
    assert "Chat number 29" in first and "Chat number 30" not in first
    import re

    older = re.search(r'href="(/chats/\?older=[0-9a-f.]+)" rel="next"', first)
    assert older, "the first page links to older chats"
    second = client.get(older.group(1)).get_data(as_text=True)
    assert "Chat number 34" in second and "Chat number 00" not in second


def test_rename_and_delete_with_confirmation(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider
) -> None:
    chat_id = send(client, csrf, "to be renamed").get_json()["chat_id"]
    finish(app)
    assert client.post(f"/chats/{chat_id}/rename", data={"title": "x"}).status_code == 400
    empty = client.post(f"/chats/{chat_id}/rename", data={"csrf_token": csrf, "title": "  "})
    assert "Give the chat a title." in empty.get_data(as_text=True)
    renamed = client.post(
        f"/chats/{chat_id}/rename",
        data={"csrf_token": csrf, "title": "Better title"},
        follow_redirects=True,
    )
    assert "Better title" in renamed.get_data(as_text=True)

    confirm = client.get(f"/chats/{chat_id}/delete").get_data(as_text=True)
    assert "Delete “Better title” and its 2 messages?" in confirm
    assert client.post(f"/chats/{chat_id}/delete").status_code == 400  # no CSRF token
    assert only_chat(app).title == "Better title"
    done = client.post(f"/chats/{chat_id}/delete", data={"csrf_token": csrf}, follow_redirects=True)
    assert "Deleted the chat" in done.get_data(as_text=True)
    assert client.get(f"/chats/{chat_id}").status_code == 404
    assert messages_of(app, chat_id) == []


def test_sending_without_a_csrf_token_is_refused(
    app: Flask, client: FlaskClient, provider: Provider
) -> None:
    response = client.post("/chats/messages", data={"content": "hi", "provider": "Fake"})
    assert response.status_code == 400
    assert _count_messages(app) == 0
