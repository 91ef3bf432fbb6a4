"""The conversation as a tree: regenerate, retry, edit and resend, versions ‹ 2/3 ›, delete a
message; the context sent is always the visible branch."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Provider
from tests.helpers import FAKE_MODEL, finish, flashes, messages_of, send


def _chat(client: FlaskClient, csrf: str, app: Flask, fake: Any, *turns: tuple[str, str]) -> str:
    """A chat of (question, answer) turns sent through the composer; its id."""
    chat_id = None
    for question, answer in turns:
        fake.script(reply=answer)
        chat_id = send(client, csrf, question, chat_id=chat_id).get_json()["chat_id"]
        finish(app)
    assert chat_id
    return chat_id


def _page(client: FlaskClient, chat_id: str) -> str:
    return client.get(f"/chats/{chat_id}").get_data(as_text=True)


def _bubbles(page: str) -> list[str]:
    """The text of each message bubble shown, in order."""
    return [
        re.sub(r"<[^>]+>", "", body).strip()
        for body in re.findall(r'<div class="md">(.*?)</div>', page, re.S)
    ]


def _composer(csrf: str, model: str = FAKE_MODEL, persona: str = "Calango (Default)") -> dict:
    return {
        "csrf_token": csrf,
        "content": "",
        "provider": "Fake",
        "model": model,
        "persona": persona,
    }


def _sent_messages(fake: Any) -> list[tuple[str, str]]:
    body = fake.requests[-1]["json"]
    return [(m["role"], m["content"]) for m in body["messages"] if m["role"] != "system"]


def test_regenerate_keeps_both_answers_as_versions_and_sends_the_branch(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = _chat(client, csrf, app, fake, ("Capital of France?", "Paris."))
    _question, first = messages_of(app, chat_id)
    fake.script(reply="It is Paris, on the Seine.")
    response = client.post(
        f"/chats/{chat_id}/messages/{first.id}/regenerate",
        data=_composer(csrf, model="other-model"),
    )
    assert response.status_code == 303
    finish(app)
    # The model was sent the question only, not the first answer.
    assert _sent_messages(fake) == [("user", "Capital of France?")]
    assert fake.requests[-1]["json"]["model"] == "other-model"
    question, first, second = messages_of(app, chat_id)
    assert first.parent_id == second.parent_id == question.id
    assert second.model == "other-model"

    page = _page(client, chat_id)
    assert _bubbles(page) == ["Capital of France?", "It is Paris, on the Seine."]
    assert "2/2" in page
    # ‹ shows the first version again (a POST form, no script needed).
    previous = f"/chats/{chat_id}/messages/{first.id}/show"
    assert f'action="{previous}"' in page
    assert client.post(previous, data={"csrf_token": csrf}).status_code == 303
    page = _page(client, chat_id)
    assert _bubbles(page) == ["Capital of France?", "Paris."]
    assert "1/2" in page

    # A message sent now continues the version shown: its context has "Paris.".
    fake.script(reply="About 2 million.")
    send(client, csrf, "Population?", chat_id=chat_id)
    finish(app)
    assert _sent_messages(fake) == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "Population?"),
    ]
    assert _bubbles(_page(client, chat_id)) == [
        "Capital of France?",
        "Paris.",
        "Population?",
        "About 2 million.",
    ]


def test_edit_and_resend_is_a_new_version_of_the_question(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = _chat(client, csrf, app, fake, ("Hi", "Hello!"), ("2+2?", "Five."))
    question = messages_of(app, chat_id)[2]
    form_page = client.get(f"/chats/{chat_id}/messages/{question.id}/edit")
    assert form_page.status_code == 200
    assert "2+2?" in form_page.get_data(as_text=True)
    fake.script(reply="Four.")
    data = _composer(csrf) | {"content": "What is 2 + 2?"}
    response = client.post(f"/chats/{chat_id}/messages/{question.id}/edit", data=data)
    assert response.status_code == 303
    finish(app)
    assert _sent_messages(fake) == [
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "What is 2 + 2?"),
    ]
    page = _page(client, chat_id)
    assert _bubbles(page) == ["Hi", "Hello!", "What is 2 + 2?", "Four."]
    assert "2/2" in page
    rows = messages_of(app, chat_id)
    assert len(rows) == 6  # the first question and its answer are kept
    edited = next(m for m in rows if m.content == "What is 2 + 2?")
    assert edited.parent_id == question.parent_id


def test_an_empty_edit_is_refused_and_nothing_is_saved(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = _chat(client, csrf, app, fake, ("Hi", "Hello!"))
    question = messages_of(app, chat_id)[0]
    data = _composer(csrf) | {"content": "   "}
    response = client.post(f"/chats/{chat_id}/messages/{question.id}/edit", data=data)
    assert response.status_code == 400
    assert "Type a message before sending." in response.get_data(as_text=True)
    assert len(messages_of(app, chat_id)) == 2


def test_retry_asks_again_with_the_same_model(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(status=500, error_body={"error": {"message": "boom"}})
    chat_id = send(client, csrf, "Tell me a joke", model="other-model").get_json()["chat_id"]
    finish(app)
    failed = messages_of(app, chat_id)[1]
    assert failed.status == "error"
    page = _page(client, chat_id)
    assert f"/chats/{chat_id}/messages/{failed.id}/retry" in page
    fake.script(reply="Why did the lizard cross the road?")
    response = client.post(
        f"/chats/{chat_id}/messages/{failed.id}/retry", data={"csrf_token": csrf}
    )
    assert response.status_code == 303
    finish(app)
    assert fake.requests[-1]["json"]["model"] == "other-model"
    page = _page(client, chat_id)
    assert _bubbles(page)[-1] == "Why did the lizard cross the road?"
    assert "2/2" in page
    # A finished answer is not retried (it can be regenerated).
    done = messages_of(app, chat_id)[-1]
    client.post(f"/chats/{chat_id}/messages/{done.id}/retry", data={"csrf_token": csrf})
    assert "This answer finished; regenerate it instead." in flashes(client)


def test_delete_a_message_and_what_follows_after_confirmation(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = _chat(client, csrf, app, fake, ("One", "1"), ("Two", "2"), ("Three", "3"))
    two = messages_of(app, chat_id)[2]
    url = f"/chats/{chat_id}/messages/{two.id}/delete"
    confirm = client.get(url).get_data(as_text=True)
    assert "the 3 messages that follow it" in confirm
    assert len(messages_of(app, chat_id)) == 6  # a GET deletes nothing
    assert client.post(url, data={}).status_code == 400  # no CSRF token: nothing happens
    assert len(messages_of(app, chat_id)) == 6
    response = client.post(url, data={"csrf_token": csrf})
    assert response.status_code == 303
    assert "Deleted 4 messages." in flashes(client)
    assert _bubbles(_page(client, chat_id)) == ["One", "1"]
    fake.script(reply="ok")
    send(client, csrf, "Again", chat_id=chat_id)
    finish(app)
    assert _sent_messages(fake) == [("user", "One"), ("assistant", "1"), ("user", "Again")]


def test_deleting_a_version_shows_the_other_one(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = _chat(client, csrf, app, fake, ("Q", "first"))
    answer = messages_of(app, chat_id)[1]
    fake.script(reply="second")
    client.post(f"/chats/{chat_id}/messages/{answer.id}/regenerate", data=_composer(csrf))
    finish(app)
    second = messages_of(app, chat_id)[2]
    client.post(f"/chats/{chat_id}/messages/{second.id}/delete", data={"csrf_token": csrf})
    page = _page(client, chat_id)
    assert _bubbles(page) == ["Q", "first"]
    assert "version-count" not in page


def test_a_question_left_without_answer_can_be_answered(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = _chat(client, csrf, app, fake, ("Q", "A"))
    question, answer = messages_of(app, chat_id)
    client.post(f"/chats/{chat_id}/messages/{answer.id}/delete", data={"csrf_token": csrf})
    page = _page(client, chat_id)
    assert _bubbles(page) == ["Q"]
    assert f"/chats/{chat_id}/messages/{question.id}/regenerate" in page
    fake.script(reply="A again")
    client.post(f"/chats/{chat_id}/messages/{question.id}/regenerate", data=_composer(csrf))
    finish(app)
    assert _bubbles(_page(client, chat_id)) == ["Q", "A again"]


def test_messages_of_another_chat_or_unknown_ids_are_refused(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    first = _chat(client, csrf, app, fake, ("Q1", "A1"))
    second = _chat(client, csrf, app, fake, ("Q2", "A2"))
    foreign = messages_of(app, first)[1].id
    for path in ("regenerate", "retry", "show"):
        for message_id in (foreign, 2**40):
            url = f"/chats/{second}/messages/{message_id}/{path}"
            response = client.post(url, data=_composer(csrf))
            assert response.status_code in (303, 404), url
    assert client.get(f"/chats/{second}/messages/{foreign}/delete").status_code == 303
    assert len(messages_of(app, first)) == 2 and len(messages_of(app, second)) == 2


def test_a_search_result_on_another_version_opens_that_version(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = _chat(client, csrf, app, fake, ("Q", "pineapple answer"))
    answer = messages_of(app, chat_id)[1]
    fake.script(reply="mango answer")
    client.post(f"/chats/{chat_id}/messages/{answer.id}/regenerate", data=_composer(csrf))
    finish(app)
    results = client.get("/chats/search?q=pineapple").get_data(as_text=True)
    assert f"/chats/{chat_id}?at={answer.id}" in results
    page = client.get(f"/chats/{chat_id}?at={answer.id}").get_data(as_text=True)
    assert _bubbles(page) == ["Q", "pineapple answer"]
    assert 'id="other-branch"' in page
    # The chat itself still shows (and continues) the newest version until asked.
    assert _bubbles(_page(client, chat_id)) == ["Q", "mango answer"]
    client.post(f"/chats/{chat_id}/messages/{answer.id}/show", data={"csrf_token": csrf})
    assert _bubbles(_page(client, chat_id)) == ["Q", "pineapple answer"]


def test_context_and_window_are_one_query_each_on_a_long_branch(app: Flask) -> None:
    """A 300-message chat with a side branch: the context walks the branch in one query."""
    from sqlalchemy import event

    from calango.services.branches import read_branch
    from calango.services.history import message_window

    with app.app_context():
        chat = ChatSession(title="long")
        db.session.add(chat)
        db.session.flush()
        parent, ids = None, []
        for i in range(300):
            row = ChatMessage(
                session_id=chat.id,
                role="user" if i % 2 == 0 else "assistant",
                content=f"m{i}",
                parent_id=parent,
            )
            db.session.add(row)
            db.session.flush()
            parent = row.id
            ids.append(row.id)
        side = ChatMessage(session_id=chat.id, role="assistant", content="side", parent_id=ids[4])
        db.session.add(side)
        db.session.commit()
        chat.leaf_id = parent  # the long branch, not the newer side message
        db.session.commit()
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            branch = read_branch(chat, chat.leaf_id)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(statements) == 1
        assert len(branch.turns) == 300 and branch.turns[-1] == ("assistant", "m299")
        window = message_window(chat)
        assert [m.content for m in window.messages][-1] == "m299"
        assert len(window.messages) == 50 and window.earlier is not None
        chat_id = chat.id
    assert isinstance(chat_id, uuid.UUID)


def test_markdown_export_is_the_version_shown_and_json_keeps_every_version(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    import io
    import json

    from calango.services.imports.calango_export import import_calango_export

    chat_id = _chat(client, csrf, app, fake, ("Q", "first answer"))
    answer = messages_of(app, chat_id)[1]
    fake.script(reply="second answer")
    client.post(f"/chats/{chat_id}/messages/{answer.id}/regenerate", data=_composer(csrf))
    finish(app)
    client.post(f"/chats/{chat_id}/messages/{answer.id}/show", data={"csrf_token": csrf})
    markdown = client.get(f"/chats/{chat_id}/export.md").get_data(as_text=True)
    assert "first answer" in markdown and "second answer" not in markdown

    exported = client.get(f"/chats/{chat_id}/export.json").get_data()
    record = json.loads(exported)
    chat = record["chats"][0] if "chats" in record else record
    parents = {m["content"]: m["parent_id"] for m in chat["messages"]}
    ids = {m["content"]: m["id"] for m in chat["messages"]}
    assert parents == {"Q": None, "first answer": ids["Q"], "second answer": ids["Q"]}
    assert chat["leaf_id"] == ids["first answer"]

    # Imported elsewhere (here: after deleting the chat) the tree and the version shown return.
    client.post(f"/chats/{chat_id}/delete", data={"csrf_token": csrf})
    with app.app_context():
        import_calango_export(io.BytesIO(exported))
    assert _bubbles(_page(client, chat_id)) == ["Q", "first answer"]
    assert "1/2" in _page(client, chat_id)


def test_an_import_whose_parent_comes_later_is_refused(app: Flask) -> None:
    import io
    import json

    from calango.services.imports import ImportFileError
    from calango.services.imports.calango_export import import_calango_export

    message = {"role": "user", "content": "x", "status": "complete",
               "timestamp": "2026-01-01T00:00:00+00:00"}  # fmt: skip
    document = {
        "format": "calango-export",
        "version": 1,
        "chats": [
            {
                "id": str(uuid.uuid4()),
                "title": "loop",
                "created_at": "2026-01-01T00:00:00+00:00",
                "updated_at": "2026-01-01T00:00:00+00:00",
                "messages": [
                    {**message, "id": 1, "parent_id": 2},
                    {**message, "id": 2, "parent_id": 1},
                ],
            }
        ],
    }
    with app.app_context():
        try:
            import_calango_export(io.BytesIO(json.dumps(document).encode()))
        except ImportFileError as exc:
            assert "parent_id must name an earlier message" in str(exc)
        else:
            raise AssertionError("a cycle was imported")
        assert db.session.query(ChatMessage).count() == 0
