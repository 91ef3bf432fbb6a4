"""Item 8: an address that answers, but not like the provider's API, says so."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.llm import NotAnApiError
from calango.llm.sse import split_lines
from calango.models import Provider
from tests.helpers import finish, messages_of, send

WORDS = "does not look like the provider's API"
HTML = "<!doctype html><html><head><title>Welcome to nginx!</title></head><body>hi</body></html>"

NOT_THE_API = {
    "html": {"raw_body": HTML, "content_type": "text/html"},
    "malformed json": {"raw_body": '{"choices": [', "content_type": "application/json"},
    "sse of non-json lines": {
        "raw_body": "data: hello\n\ndata: world\n\n",
        "content_type": "text/event-stream",
    },
    "sse of other json": {
        "raw_body": 'data: {"status": "ok"}\n\ndata: {"status": "still ok"}\n\n',
        "content_type": "text/event-stream",
    },
    "html without a content type": {"raw_body": HTML, "content_type": "text/plain"},
    "one endless line": {
        "raw_body": "data: " + "x" * 1_100_000,
        "content_type": "text/event-stream",
    },
    "one endless event": {
        "raw_body": "data: x\n" * 600_000,
        "content_type": "text/event-stream",
    },
}


@pytest.mark.parametrize("behaviour", list(NOT_THE_API), ids=list(NOT_THE_API))
def test_a_page_that_is_not_the_api_gives_an_error_answer(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any, behaviour: str
) -> None:
    fake.script(**NOT_THE_API[behaviour])
    chat_id = send(client, csrf, "hello?").get_json()["chat_id"]
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "error"  # never an empty "complete" answer
    assert WORDS in answer.error
    assert answer.content == ""
    assert WORDS in html.unescape(client.get(f"/chats/{chat_id}").get_data(as_text=True))


def test_anthropic_kind_at_a_web_page_says_the_same(
    app: Flask, client: FlaskClient, csrf: str, anthropic_provider: Provider, fake: Any
) -> None:
    fake.script(raw_body=HTML, content_type="text/html")
    chat_id = send(client, csrf, "hello?", provider="FakeClaude", model="claude-fake").get_json()[
        "chat_id"
    ]
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert (answer.status, WORDS in (answer.error or "")) == ("error", True)


def test_text_received_before_the_garbage_is_kept(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(chunks=["Half ", "an answer"], trailer="data: <html>oops</html>\n\n")
    chat_id = send(client, csrf, "hello?").get_json()["chat_id"]
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "error"
    assert answer.content == "Half an answer"
    assert WORDS in answer.error


@pytest.mark.parametrize(
    "body",
    [
        {"raw_body": HTML, "content_type": "text/html"},
        {"raw_body": "{not json", "content_type": "application/json"},
        {"raw_body": json.dumps({"models": ["a"]}), "content_type": "application/json"},
    ],
    ids=["html", "malformed json", "other json"],
)
@pytest.mark.parametrize("action", ["test", "models"])
def test_test_connection_and_fetch_models_say_the_same(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    provider: Provider,
    fake: Any,
    body: dict[str, str],
    action: str,
) -> None:
    fake.script(**body)
    response = client.post(
        f"/settings/providers/{provider.id}/{action}",
        data={"csrf_token": csrf},
        follow_redirects=True,
    )
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert WORDS in page
    assert "AttributeError" not in page and "unexpected provider failure" not in page


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        (["a\nb\n"], ["a", "b"]),
        (["a\r", "\nb\r\n"], ["a", "b"]),  # a CRLF split between two chunks is one break
        (["a\r", "b\r", "\r"], ["a", "b", ""]),
        (["data: x\n\ndata: y"], ["data: x", "", "data: y"]),
        (["a\u2028b\n"], ["a\u2028b"]),  # JSON may hold U+2028 raw: not a line break in SSE
    ],
)
def test_stream_lines_split_as_sse_defines_them(chunks: list[str], lines: list[str]) -> None:
    assert list(split_lines(chunks)) == lines


def test_a_line_without_end_is_refused_before_it_fills_the_memory() -> None:
    with pytest.raises(NotAnApiError):
        list(split_lines(["x" * 600, "y" * 600], limit=1000))
