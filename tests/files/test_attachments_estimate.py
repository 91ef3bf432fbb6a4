"""Attached files count in the composer's estimate and in the spending cap: files already in
the chat (counted in SQL), files about to be sent (described by the script, never uploaded),
and a capped send whose file would pass the cap."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.llm import estimate_tokens, image_tokens
from calango.models import Provider
from tests.chat.test_spend_cap import estimate
from tests.files.conftest import VISION_MODEL
from tests.helpers import FAKE_MODEL, finish, png_bytes, send_with_files

NOTES = "n" * 4000  # 1,000 tokens of text in a file


def test_files_in_the_chat_and_files_about_to_be_sent_are_counted(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply="ok")
    sent = send_with_files(
        client, csrf, "read", [(NOTES.encode(), "notes.txt"), (png_bytes(300, 200), "p.png")],
        model=f"{provider.id}:{VISION_MODEL}",
    )  # fmt: skip
    assert sent.status_code == 201, sent.get_data(as_text=True)
    chat_id = sent.get_json()["chat_id"]
    finish(app)
    plain = estimate(client, csrf, "next", provider, chat_id=chat_id, model=VISION_MODEL)
    history = estimate_tokens("read") + estimate_tokens("ok") + estimate_tokens("next")
    files = plain.get_json()["tokens"] - history
    # The text file's 1,000 tokens (plus its delimiting lines) and the picture's.
    assert 1000 + image_tokens(300, 200) <= files <= 1000 + image_tokens(300, 200) + 20
    # Files the composer is about to send: 2,000 characters and a 4000×3000 photo, which
    # the server will scale to 2048×1536.
    pending = estimate(
        client, csrf, "next", provider, chat_id=chat_id, model=VISION_MODEL,
        attached_chars="2000", attached_images="4000x3000",
    ).get_json()  # fmt: skip
    assert pending["tokens"] - plain.get_json()["tokens"] == 500 + image_tokens(2048, 1536)
    # Hostile descriptions are bounded, never an error.
    odd = estimate(
        client, csrf, "next", provider, chat_id=chat_id, model=VISION_MODEL,
        attached_chars="-5e9", attached_images="x,99999999999x1,abc," * 50,
    )  # fmt: skip
    assert odd.status_code == 200


def test_a_file_that_would_pass_the_cap_is_refused_before_the_provider(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    # 40,000 tokens of file text at US$ 2 per million: US$ 0.08, over a US$ 0.05 cap.
    big = ("w" * 160_000).encode()
    import io

    data = {
        "csrf_token": csrf, "content": "summarize", "provider": "Fake",
        "model": f"{provider.id}:{FAKE_MODEL}", "persona": "", "spend_cap": "0.05",
        "files": [(io.BytesIO(big), "big.txt")],
    }  # fmt: skip
    refused = client.post(
        "/chats/messages", data=data, headers={"Accept": "application/json"},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert refused.status_code == 402, refused.get_data(as_text=True)
    assert "0.05" in refused.get_json()["error"]
    assert [r for r in fake.requests if r["method"] == "POST"] == []
