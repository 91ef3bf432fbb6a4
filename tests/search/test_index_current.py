"""The search index follows every write: the app's send and streaming saves, rename, delete,
ON DELETE CASCADE, and plain SQL inserts and updates (imports, bulk loads)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, insert, inspect, text, update

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Provider
from calango.models.types import utcnow
from calango.services import search as search_service
from tests.helpers import finish, send, wait_until
from tests.search.conftest import AddChat


def count(app: Flask, query: str) -> int:
    with app.test_request_context():
        return len(search_service.search(query).messages)


def titles(app: Flask, query: str) -> int:
    with app.test_request_context():
        return len(search_service.search(query).titles)


def test_sent_message_and_final_answer_are_found(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply="the axolotl regrows limbs")
    chat_id = send(client, csrf, "tell me about the wombat").get_json()["chat_id"]
    assert count(app, "wombat") == 1  # committed before the provider answers
    finish(app)
    assert count(app, "axolotl") == 1  # the final save
    assert titles(app, "wombat") == 1  # the title made from the first message
    page = client.get("/chats/search?q=axolotl").get_data(as_text=True)
    assert f"/chats/{chat_id}?at=" in page


def test_answer_is_searchable_while_it_streams(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    # The provider sends one word, then takes its time: the producer has saved the first.
    fake.script(chunks=["quokka ", "platypus"], delay=3.0)
    send(client, csrf, "animals please")
    wait_until(lambda: count(app, "quokka") == 1)
    with app.app_context():
        answer = db.session.scalars(
            ChatMessage.select_for_session(
                db.session.scalars(ChatSession.select_recent()).first().id
            )
        ).all()[1]
        assert answer.status == "streaming"
    assert count(app, "platypus") == 0
    finish(app)
    assert count(app, "platypus") == 1 and count(app, "quokka") == 1


def test_rename_changes_what_the_title_search_finds(
    app: Flask, client: FlaskClient, csrf: str, add_chat: AddChat
) -> None:
    chat_id = add_chat("Old name", ["hello"])
    assert titles(app, "old") == 1
    client.post(f"/chats/{chat_id}/rename", data={"csrf_token": csrf, "title": "Brand new"})
    assert titles(app, "old") == 0 and titles(app, "brand") == 1


def test_deleting_a_chat_removes_its_title_and_messages(
    app: Flask, client: FlaskClient, csrf: str, add_chat: AddChat
) -> None:
    chat_id = add_chat("Gerbil chat", ["gerbil one", "gerbil two"])
    keep = add_chat("Gerbil keep", ["gerbil three"])
    assert count(app, "gerbil") == 3 and titles(app, "gerbil") == 2
    client.post(f"/chats/{chat_id}/delete", data={"csrf_token": csrf})
    assert count(app, "gerbil") == 1 and titles(app, "gerbil") == 1
    with app.app_context():
        # The database's own cascade, as a bulk clean-up would do it.
        db.session.execute(delete(ChatSession).where(ChatSession.id == keep))
        db.session.commit()
    assert count(app, "gerbil") == 0 and titles(app, "gerbil") == 0


def test_plain_sql_inserts_updates_and_deletes_are_indexed(app: Flask) -> None:
    chat_id = uuid.uuid4()
    now = utcnow()
    with app.app_context():
        db.session.execute(
            insert(ChatSession),
            [{"id": chat_id, "title": "Imported narwhal", "created_at": now, "updated_at": now}],
        )
        db.session.execute(
            insert(ChatMessage),
            [
                {"session_id": chat_id, "role": "user", "content": f"narwhal {i}", "timestamp": now}
                for i in range(3)
            ],
        )
        db.session.commit()
    assert count(app, "narwhal") == 3 and titles(app, "narwhal") == 1
    with app.app_context():
        db.session.execute(
            update(ChatMessage).where(ChatMessage.content == "narwhal 0").values(content="beluga")
        )
        db.session.execute(
            update(ChatSession).where(ChatSession.id == chat_id).values(title="Imported beluga")
        )
        db.session.execute(delete(ChatMessage).where(ChatMessage.content == "narwhal 1"))
        db.session.commit()
    assert count(app, "narwhal") == 1 and count(app, "beluga") == 1
    assert titles(app, "narwhal") == 0 and titles(app, "beluga") == 1


def test_search_machinery_exists_at_head(app_ctx: Flask, backend: str) -> None:
    """A later migration that recreates these tables on SQLite must bring this back."""
    if backend == "sqlite":
        names = {
            row[0]
            for row in db.session.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            )
        }
        assert {
            "search_messages_ai",
            "search_messages_ad",
            "search_messages_au",
            "search_titles_ai",
            "search_titles_ad",
            "search_titles_au",
        } <= names
    else:
        for table in ("chat_messages", "chat_sessions"):
            columns = {c["name"] for c in inspect(db.engine).get_columns(table)}
            assert "search_vector" in columns
            indexes = {i["name"] for i in inspect(db.engine).get_indexes(table)}
            assert f"ix_{table}_search_vector" in indexes
