"""Chat titles: a clean summary of the first message."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.models import Provider
from calango.services.titles import clean_title
from tests.helpers import finish, only_chat, send


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("# Help with **bold** and _italic_\n\nplease", "Help with bold and italic please"),
        ("See [the docs](https://example.com/x) and `code`", "See the docs and code"),
        ("```python\nprint('hi')\n```", "print('hi')"),
        ("> quoted\n- one\n- two", "quoted one two"),
        ("  many   spaces\n\n\tand\ttabs  ", "many spaces and tabs"),
        ("<b>not html</b>", "<b>not html</b>"),  # shown escaped, never markup
        ("", ""),
    ],
)
def test_markdown_is_stripped_and_whitespace_collapsed(text: str, title: str) -> None:
    assert clean_title(text) == title


def test_long_text_is_cut_at_a_word_boundary_within_60_characters() -> None:
    text = "Quero entender como funciona a fotossíntese nas plantas aquáticas e nas algas"
    title = clean_title(text)
    assert len(title) <= 60 and title.endswith("…")
    assert title == "Quero entender como funciona a fotossíntese nas plantas…"
    assert text.startswith(title[:-1])
    # One long word is cut inside it rather than dropped.
    assert clean_title("x" * 100) == "x" * 59 + "…"


def test_a_new_chat_gets_the_clean_title(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    send(client, csrf, "## Como **fazer**   um `decorator`?\n\nDetalhes: ...")
    finish(app)
    assert only_chat(app).title == "Como fazer um decorator? Detalhes: ..."
