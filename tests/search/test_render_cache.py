"""Stored message HTML: rendered once when the text is final, reused when a chat opens, never
for an answer still streaming, and never a way around the sanitiser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markdown_it import MarkdownIt
from sqlalchemy import event, update

from calango.extensions import db
from calango.models import ChatMessage, Provider
from calango.models.types import utcnow
from calango.rendering import RENDER_VERSION, render_markdown
from calango.services.message_html import store_missing_html
from tests.helpers import finish, messages_of, send, wait_until
from tests.search.conftest import AddChat

MARKDOWN = "Here is **bold**, a [link](https://example.org) and\n\n```python\nprint('oi')\n```"
HOSTILE = (
    "<img src=x onerror=alert(1)> <script>alert(2)</script> [click](javascript:alert(3)) "
    '<a href="javascript:alert(4)">x</a>'
)


def bodies(page: str) -> list[str]:
    """The HTML inside each message bubble."""
    return re.findall(r'<div class="md">(.*?)</div>', page, re.S)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text parsed as Markdown, whoever asks (the parser itself is counted)."""
    calls: list[str] = []
    original = MarkdownIt.render

    def counting(self: MarkdownIt, text: str, env: Any = None) -> str:
        calls.append(text)
        return original(self, text, env)

    monkeypatch.setattr(MarkdownIt, "render", counting)
    return calls


@pytest.fixture
def updates(app: Flask) -> Iterator[list[str]]:
    """The UPDATE statements that write stored HTML."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith("UPDATE chat_messages SET content_html="):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_sent_messages_store_the_renderers_output(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply=MARKDOWN)
    chat_id = send(client, csrf, "Show me *Python*").get_json()["chat_id"]
    finish(app)
    user, answer = messages_of(app, chat_id)
    assert user.content_html == str(render_markdown("Show me *Python*"))
    assert "<em>Python</em>" in user.content_html
    assert answer.status == "complete" and answer.content == MARKDOWN
    assert answer.content_html == str(render_markdown(MARKDOWN))
    assert "<strong>bold</strong>" in answer.content_html
    assert user.content_html_version == answer.content_html_version == RENDER_VERSION


def test_opening_a_chat_reuses_the_stored_html(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
    renders: list[str],
    updates: list[str],
) -> None:
    fake.script(reply=MARKDOWN)
    chat_id = send(client, csrf, "Show me *Python*").get_json()["chat_id"]
    finish(app)
    renders.clear()
    updates.clear()
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert renders == []  # nothing rendered again
    assert updates == []  # nothing written
    assert "<strong>bold</strong>" in page and "<em>Python</em>" in page
    assert 'class="highlight' in page or "<span class=" in page  # Pygments' output kept


def test_a_streaming_answer_is_never_stored(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    # The second piece waits: the first is saved (and shown) while the answer streams.
    fake.script(chunks=["**bold** start", " and the end"], delay=3.0)
    chat_id = send(client, csrf, "go").get_json()["chat_id"]

    def partial_saved() -> bool:
        answer = messages_of(app, chat_id)[1]
        return answer.status == "streaming" and answer.content == "**bold** start"

    wait_until(partial_saved)
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "streaming"
    assert answer.content_html is None and answer.content_html_version is None
    assert '<div class="stream-text">**bold** start</div>' in page  # shown as plain text
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "complete" and answer.content == "**bold** start and the end"
    assert answer.content_html == str(render_markdown(answer.content))


def test_a_streaming_row_is_skipped_by_the_lazy_fill(
    app: Flask, client: FlaskClient, add_chat: AddChat
) -> None:
    # A live producer elsewhere (a fresh heartbeat): the row stays streaming.
    chat_id = add_chat("Live", ["**half** an answer"], status="streaming", heartbeat_at=utcnow())
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert '<div class="stream-text">**half** an answer</div>' in page
    (answer,) = messages_of(app, chat_id)
    assert answer.status == "streaming" and answer.content_html is None


def test_hostile_text_stays_inert_through_the_cache(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
    add_chat: AddChat,
) -> None:
    fake.script(reply=HOSTILE)
    sent = send(client, csrf, HOSTILE).get_json()["chat_id"]
    finish(app)
    imported = add_chat("Imported", [HOSTILE, HOSTILE])
    for chat_id in (sent, imported):
        for _ in range(2):  # the first view stores the imported rows, the second reuses them
            page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
            bubbles = page.split('id="m-', 1)[1]
            for needle in ("<img", "<script>", '<a href="javascript:'):
                assert needle not in bubbles
            assert "&lt;img src=x onerror=alert(1)&gt;" in bubbles
        for message in messages_of(app, chat_id):
            assert message.content_html == str(render_markdown(HOSTILE))
            for needle in ("<img", "<script", '<a href="javascript:'):
                assert needle not in message.content_html


def test_an_imported_row_gets_its_html_on_first_display(
    app: Flask,
    client: FlaskClient,
    add_chat: AddChat,
    renders: list[str],
    updates: list[str],
) -> None:
    texts = [f"message *{i}*" for i in range(60)]
    chat_id = add_chat("Imported", texts)
    assert all(m.content_html is None for m in messages_of(app, chat_id))
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert "<em>59</em>" in page
    assert sorted(renders) == sorted(texts[-50:])  # the page shown, rendered once each
    assert len(updates) == 1  # stored in one statement
    stored = messages_of(app, chat_id)
    assert all(m.content_html is None for m in stored[:10])  # not shown: not rendered
    for message in stored[10:]:
        assert message.content_html == str(render_markdown(message.content))
        assert message.content_html_version == RENDER_VERSION
    renders.clear()
    updates.clear()
    again = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert bodies(again) == bodies(page) and len(bodies(page)) == 50
    assert renders == [] and updates == []


def test_html_of_an_older_renderer_is_replaced(
    app: Flask, client: FlaskClient, add_chat: AddChat
) -> None:
    chat_id = add_chat("Old", ["*new*"])
    with app.app_context():
        db.session.execute(
            update(ChatMessage)
            .where(ChatMessage.session_id == chat_id)
            .values(content_html="<p>old output</p>", content_html_version=RENDER_VERSION - 1)
        )
        db.session.commit()
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert "old output" not in page and "<em>new</em>" in page
    (message,) = messages_of(app, chat_id)
    assert (message.content_html, message.content_html_version) == (
        "<p><em>new</em></p>\n",
        RENDER_VERSION,
    )


def test_a_row_saved_meanwhile_keeps_its_own_html(app: Flask, add_chat: AddChat) -> None:
    chat_id = add_chat("Race", ["first text"])
    with app.app_context():
        loaded = list(db.session.scalars(ChatMessage.select_for_session(chat_id)))
        # Another worker saves a new text (and its HTML) after this page read the row.
        with db.engine.begin() as other:
            other.execute(
                update(ChatMessage)
                .where(ChatMessage.session_id == chat_id)
                .values(content="second text")
            )
        assert store_missing_html(loaded) == 0
        db.session.expire_all()
        (message,) = db.session.scalars(ChatMessage.select_for_session(chat_id))
        assert message.content == "second text" and message.content_html is None
