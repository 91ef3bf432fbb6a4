"""Files and images attached to a message: what reaches the model, what is stored, shown,
downloaded and deleted."""

from __future__ import annotations

import io
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from calango.extensions import db
from calango.models import ChatSession, MessageFile, Provider, StoredFile
from tests.files.conftest import VISION_MODEL
from tests.helpers import finish, messages_of, pdf_bytes, png_bytes, send_with_files


def _stored(app: Flask) -> list[tuple[str, str, int | None, int | None]]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                select(
                    StoredFile.kind, StoredFile.mime, StoredFile.width, StoredFile.height
                ).order_by(StoredFile.id)
            )
        ]


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def _posts(fake: Any) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["method"] == "POST"]


def test_a_text_file_joins_the_message_as_a_named_block(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(echo_user=True)
    code = b"def hello():\n    return 'ol\xc3\xa1'\n"
    sent = send_with_files(client, csrf, "Review this", [(code, "hello.py")])
    assert sent.status_code == 201, sent.get_data(as_text=True)
    assert "hello.py" in sent.get_json()["html"], "the chip is on the new bubble"
    finish(app)
    chat_id = sent.get_json()["chat_id"]
    question, answer = messages_of(app, chat_id)
    assert question.content == "Review this" and question.file_count == 1
    expected = "Review this\n\n<file name=\"hello.py\">\ndef hello():\n    return 'olá'\n\n</file>"
    assert answer.content == expected  # the fake echoes the user turn it was sent
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert "hello.py" in page and f"/chats/{chat_id}/messages/{question.id}/files/0" in page


def test_a_pdf_is_sent_as_its_text_and_a_pdf_without_text_is_refused(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(echo_user=True)
    sent = send_with_files(client, csrf, "", [(pdf_bytes("Quarterly report"), "q3.pdf")])
    assert sent.status_code == 201, sent.get_data(as_text=True)
    finish(app)
    chat_id = sent.get_json()["chat_id"]
    answer = messages_of(app, chat_id)[-1]
    assert answer.content == '<file name="q3.pdf">\nQuarterly report\n</file>'
    with app.app_context():
        assert db.session.get(ChatSession, uuid.UUID(chat_id)).title == "q3.pdf"
    refused = send_with_files(client, csrf, "read it", [(pdf_bytes(None), "scan.pdf")])
    assert refused.status_code == 400
    assert "“scan.pdf” has no text" in refused.get_json()["error"]


def test_text_that_is_not_utf8_is_refused_by_name(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    latin1 = "Relatório de preços".encode("latin-1")
    refused = send_with_files(client, csrf, "read it", [(latin1, "notas.txt")])
    assert refused.status_code == 400
    assert "“notas.txt” is not a text file Calango can read" in refused.get_json()["error"]
    assert not _posts(fake) and _count(app, ChatSession) == 0


def _wire_images(request: dict[str, Any]) -> list[tuple[str, bytes]]:
    from tests.fakes.provider_server import content_parts

    user = [m for m in request["json"]["messages"] if m["role"] == "user"][-1]
    return content_parts(user["content"])[1]


def test_images_reach_each_protocol_in_its_own_format(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    claude: Provider,
    gemini: Provider,
    fake: Any,
) -> None:
    fake.script(echo_user=True)
    picture = png_bytes(40, 30)
    for name, model in (("Fake", VISION_MODEL), ("FakeClaude", "claude-sonnet-4-5"),
                        ("FakeGemini", "gemini-2.5-flash")):  # fmt: skip
        fake.requests.clear()
        sent = send_with_files(
            client, csrf, "What colour?", [(picture, "red.png")], provider=name, model=model
        )
        assert sent.status_code == 201, sent.get_data(as_text=True)
        finish(app)
        body = _posts(fake)[-1]["json"]
        user = [m for m in body["messages"] if m["role"] == "user"][-1]
        if name == "FakeClaude":
            image, text = user["content"]
            assert image["type"] == "image" and image["source"]["type"] == "base64"
            assert image["source"]["media_type"] == "image/png"
            assert text == {"type": "text", "text": "What colour?"}
        else:  # OpenAI's parts; Gemini's OpenAI-compatible endpoint takes the same
            text, image = user["content"]
            assert text == {"type": "text", "text": "What colour?"}
            assert image["type"] == "image_url"
            assert image["image_url"]["url"].startswith("data:image/png;base64,")
        [(mime, data)] = _wire_images(_posts(fake)[-1])
        decoded = Image.open(io.BytesIO(data))
        assert (mime, decoded.format, decoded.size) == ("image/png", "PNG", (40, 30))
        answer = messages_of(app, sent.get_json()["chat_id"])[-1]
        assert answer.status == "complete", answer.error
        assert answer.content == f"What colour?\n[image image/png {len(data)} bytes]"
    assert _count(app, StoredFile) == 1 and _count(app, MessageFile) == 3  # stored once


def test_a_model_that_cannot_see_images_refuses_before_any_call(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    refused = send_with_files(client, csrf, "What is it?", [(png_bytes(8, 8), "a.png")])
    assert refused.status_code == 400
    assert "cannot see images" in refused.get_json()["error"]
    assert "fake-model" in refused.get_json()["error"]
    assert not _posts(fake)
    assert _count(app, ChatSession) == 0 and _count(app, StoredFile) == 0


def test_an_earlier_picture_is_a_note_for_a_text_only_model(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    sent = send_with_files(client, csrf, "Look", [(png_bytes(8, 8), "a.png")], model=VISION_MODEL)
    chat_id = sent.get_json()["chat_id"]
    finish(app)
    again = send_with_files(client, csrf, "And now?", [], chat_id=chat_id)
    assert again.status_code == 201
    finish(app)
    first = next(m for m in _posts(fake)[-1]["json"]["messages"] if m["role"] == "user")
    assert first["content"] == "Look\n\n[Image “a.png” not shown: this model cannot see images.]"


def test_large_images_are_downscaled_and_re_encoded(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    out = io.BytesIO()
    Image.new("RGB", (3000, 1500), (10, 120, 40)).save(out, format="JPEG")
    sent = send_with_files(client, csrf, "big", [(out.getvalue(), "wide.jpg")], model=VISION_MODEL)
    assert sent.status_code == 201, sent.get_data(as_text=True)
    finish(app)
    assert _stored(app) == [("image", "image/jpeg", 2048, 1024)]


def test_hostile_and_oversized_files_are_refused(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    from tests.personas.test_avatars import _png_claiming

    html = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    cases = [
        ((html, "cat.png"), "“cat.png”: This file is not an image Calango can use"),
        ((svg, "logo.svg"), "“logo.svg”: This file is not an image Calango can use"),
        ((_png_claiming(60_000, 60_000), "bomb.png"), "more than 40 million pixels"),
        ((b"\x00\x01\x02binary", "tool.exe"), "is not a text file Calango can read"),
        ((b"", "empty.txt"), "“empty.txt” is empty"),
    ]
    for upload, message in cases:
        refused = send_with_files(client, csrf, "x", [upload], model=VISION_MODEL)
        assert refused.status_code == 400, upload[1]
        assert message in refused.get_json()["error"], refused.get_json()["error"]
    assert not _posts(fake) and _count(app, StoredFile) == 0 and _count(app, ChatSession) == 0


def test_limits_of_size_count_and_tokens(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    app.config.update(MAX_ATTACHMENT_BYTES=1000, MAX_ATTACHMENTS=2, MAX_ATTACHMENT_TOKENS=300)
    too_big = send_with_files(client, csrf, "x", [(b"a" * 1001, "big.txt")])
    assert too_big.status_code == 413
    assert "“big.txt” is larger than" in too_big.get_json()["error"]
    too_many = send_with_files(client, csrf, "x", [(b"a", f"{i}.txt") for i in range(3)])
    assert too_many.status_code == 400
    assert "You attached 3 files; a message takes at most 2" in too_many.get_json()["error"]
    too_long = send_with_files(client, csrf, "x", [(b"a" * 800, "a.txt"), (b"b" * 800, "b.txt")])
    assert too_long.status_code == 413
    assert "about 400 tokens of text; a message takes at most 300" in too_long.get_json()["error"]
    assert not _posts(fake) and _count(app, ChatSession) == 0


def test_download_is_an_attachment_never_rendered(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    page = b"<html><script>alert(1)</script></html>"
    sent = send_with_files(client, csrf, "keep", [(page, "page.html")])
    chat_id = sent.get_json()["chat_id"]
    finish(app)
    question = messages_of(app, chat_id)[0]
    url = f"/chats/{chat_id}/messages/{question.id}/files/0"
    response = client.get(url)
    assert response.status_code == 200 and response.data == page
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "page.html" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert client.get(f"/chats/{chat_id}/messages/{question.id}/files/1").status_code == 404
    assert client.get(f"/chats/{uuid.uuid4()}/messages/{question.id}/files/0").status_code == 404


def test_files_go_with_their_chat_unless_another_chat_links_them(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    shared, own = (b"shared notes", "notes.md"), (b"only here", "mine.txt")
    first = send_with_files(client, csrf, "one", [shared, own]).get_json()["chat_id"]
    finish(app)
    second = send_with_files(client, csrf, "two", [shared]).get_json()["chat_id"]
    finish(app)
    assert _count(app, StoredFile) == 2 and _count(app, MessageFile) == 3
    delete = client.post(f"/chats/{first}/delete", data={"csrf_token": csrf})
    assert delete.status_code in (302, 303)
    assert _count(app, StoredFile) == 1 and _count(app, MessageFile) == 1
    client.post(f"/chats/{second}/delete", data={"csrf_token": csrf})
    assert _count(app, StoredFile) == 0 and _count(app, MessageFile) == 0


def test_a_send_without_script_posts_multipart_and_redirects(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(echo_user=True)
    page = client.get("/chats/").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    sent = send_with_files(client, csrf, "plain", [(b"a,b\n1,2\n", "t.csv")], json=False)
    assert sent.status_code == 303
    finish(app)
    chat = client.get(sent.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert "t.csv" in chat and "file-chip" in chat
    assert "&lt;file name=&#34;t.csv&#34;&gt;" in chat  # the echoed answer, escaped


def test_edit_and_resend_keeps_the_files(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(echo_user=True)
    sent = send_with_files(client, csrf, "Summarise", [(b"long text", "doc.txt")])
    chat_id = sent.get_json()["chat_id"]
    finish(app)
    question = messages_of(app, chat_id)[0]
    edited = client.post(
        f"/chats/{chat_id}/messages/{question.id}/edit",
        data={"csrf_token": csrf, "content": "Summarise briefly", "provider": "Fake",
              "model": "fake-model", "persona": "Calango (Default)"},
    )  # fmt: skip
    assert edited.status_code in (201, 302, 303), edited.get_data(as_text=True)[:400]
    finish(app)
    answer = messages_of(app, chat_id)[-1]
    assert answer.content == 'Summarise briefly\n\n<file name="doc.txt">\nlong text\n</file>'
    assert _count(app, StoredFile) == 1 and _count(app, MessageFile) == 2


def test_exports_name_the_attachments(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    sent = send_with_files(client, csrf, "See both", [(b"a", "a.txt"), (b"# b", "b.md")])
    chat_id = sent.get_json()["chat_id"]
    finish(app)
    markdown = client.get(f"/chats/{chat_id}/export.md").get_data(as_text=True)
    assert "See both\n\nAttached: `a.txt`, `b.md`\n" in markdown
    document = client.get(f"/chats/{chat_id}/export.json").get_json()
    question, answer = document["chats"][0]["messages"]
    assert [f["name"] for f in question["attachments"]] == ["a.txt", "b.md"]
    assert question["attachments"][0] == {"name": "a.txt", "mime": "text/plain; charset=utf-8",
                                          "size": 1}  # fmt: skip
    assert "attachments" not in answer


def test_a_send_larger_than_the_server_accepts_is_refused_with_a_clear_message(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    big = b"a" * (3 * 1024 * 1024)
    response = send_with_files(client, csrf, "read these", [(big, "big.txt")])
    assert response.status_code == 413
    assert "2 MB in all" in response.get_json()["error"]  # the composer shows it
    page = send_with_files(client, csrf, "read these", [(big, "big.txt")], json=False)
    assert page.status_code == 413 and "2 MB in all" in page.get_data(as_text=True)
    assert _posts(fake) == [] and _count(app, StoredFile) == 0
