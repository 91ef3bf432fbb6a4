"""Item 9: no 500 for bad input. Every route of the app (read from its URL map, so new routes
are covered without touching this file) and every form field gets hostile values: NUL bytes,
integers beyond any column, over-long text, values of the wrong type."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from wtforms.fields.core import UnboundField

from calango.extensions import db
from calango.models import Persona, Provider
from tests.helpers import csrf_token_from, finish, messages_of, send

HUGE = "99999999999999999999"
HOSTILE = {
    "nul": "a\x00b",
    "huge int": HUGE,
    "negative": "-1",
    "over-long": "x" * 20_000,
    "wrong type": "1e999",
    "yaml with a nul escape": 'providers:\n  "P\\0": {kind: openai}\npersonas: [{name: "x\\0"}]',
}
URL_PART = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _form_fields() -> set[str]:
    """Every field name of every form in the app."""
    names: set[str] = set()
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        for name in dir(form):
            if isinstance(getattr(form, name, None), UnboundField):
                names.add(name)
    return names


def _urls(app: Flask, ids: dict[str, list[str]]) -> Iterator[tuple[str, str]]:
    """(method, url) for every rule, with real and hostile values for its parts; the routes
    that delete come last, so that the others still find what they work on."""
    rules = sorted(app.url_map.iter_rules(), key=lambda r: ("delete" in r.endpoint, r.rule))
    for rule in rules:
        if rule.endpoint == "static":
            continue
        parts = URL_PART.findall(rule.rule)
        variants = [rule.rule]
        for converter, name in parts:
            values = ids.get(name) or ids[converter or "default"]
            pattern = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?" + name + ">")
            variants = [pattern.sub(value, v) for v in variants for value in values]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for url in variants:
                yield method, url


@pytest.fixture
def ids(app: Flask, provider: Provider, fake: Any) -> dict[str, list[str]]:
    client = app.test_client()
    chat_id = send(client, csrf_token_from(client), "a chat to poke at").get_json()["chat_id"]
    finish(app)
    message_id = messages_of(app, chat_id)[1].id
    with app.app_context():
        persona_id = db.session.scalars(Persona.select_all()).first().id
    return {
        "chat_id": [chat_id, str(uuid.uuid4())],
        "message_id": [str(message_id), HUGE, "0"],
        "persona_id": [str(persona_id), HUGE],
        "provider_id": [str(provider.id), HUGE],
        "int": [HUGE],
        "uuid": [str(uuid.uuid4())],
        "default": [HUGE, "a\x00b"],
    }


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_no_route_answers_hostile_input_with_a_server_error(
    app: Flask, ids: dict[str, list[str]], kind: str
) -> None:
    value = HOSTILE[kind]
    client = app.test_client()
    token = csrf_token_from(client)
    fields = _form_fields()
    failures = []
    query = {"page": value, "offset": value, "preset": value, "next": value}
    for method, url in _urls(app, ids):
        for accept in ("text/html", "application/json"):
            headers = {"Accept": accept, "Last-Event-ID": re.sub(r"[\x00\r\n]", "", value)[:1000]}
            if method == "GET":
                response = client.get(url, query_string=query, headers=headers)
            else:
                data: dict[str, Any] = {name: value for name in fields}
                data["csrf_token"] = token
                data["file"] = (io.BytesIO(value.encode()), "hostile.yaml")
                response = client.open(url, method=method, data=data, headers=headers)
            response.get_data()  # streamed answers too: read to the end, then closed
            response.close()
            if response.status_code >= 500:
                failures.append(f"{method} {url[:80]!r} ({accept}): {response.status_code}")
        finish(app)
    assert not failures, "\n".join(failures)


def test_ids_beyond_the_integer_range_are_not_found(app: Flask, client: FlaskClient) -> None:
    chat = uuid.uuid4()
    for url in (
        f"/chats/{chat}/messages/{HUGE}/stream",
        f"/personas/{HUGE}/edit",
        f"/settings/providers/{HUGE}/edit",
        "/personas/2147483648/edit",
    ):
        assert client.get(url).status_code == 404, url


def test_model_names_longer_than_the_column_are_refused(
    app: Flask, client: FlaskClient, csrf: str
) -> None:
    data = {"csrf_token": csrf, "name": "P", "kind": "openai", "models": "m" * 201}
    page = client.post("/settings/providers/new", data=data).get_data(as_text=True)
    assert "a model name has at most 200 characters" in page
    from calango.services.config_io import ConfigImportError, import_config

    with app.app_context():
        with pytest.raises(ConfigImportError, match="at most 200 characters"):
            import_config(f"providers:\n  P:\n    kind: openai\n    models: [{'m' * 201}]\n")
        assert db.session.query(Provider).count() == 0


def test_fetched_model_names_that_do_not_fit_are_left_out(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(models=["good-model", "m" * 201, "bad\x00model"])
    client.post(f"/settings/providers/{provider.id}/models", data={"csrf_token": csrf})
    with app.app_context():
        models = db.session.get(Provider, provider.id).models
    assert "good-model" in models
    assert all(len(m) <= 200 and "\x00" not in m for m in models)


def test_a_nul_in_a_form_is_dropped_before_it_reaches_the_database(
    app: Flask, client: FlaskClient, csrf: str
) -> None:
    data = {"csrf_token": csrf, "name": "Ne\x00at", "prompt": "Be\x00 brief."}
    assert client.post("/personas/new", data=data).status_code == 302
    with app.app_context():
        persona = db.session.scalars(Persona.select_by_name("Neat")).first()
        assert persona is not None and persona.prompt == "Be brief."


def test_a_nul_escape_in_an_import_is_refused_naming_the_field(app: Flask) -> None:
    from calango.services.config_io import ConfigImportError, import_config

    with (
        app.app_context(),
        pytest.raises(ConfigImportError, match=r"personas\[0\].prompt contains"),
    ):
        import_config('personas:\n  - {name: Terse, prompt: "a\\0b"}\n')


def test_a_failed_commit_gives_a_could_not_save_page(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    chat_id = send(client, csrf, "hello").get_json()["chat_id"]
    finish(app)

    def disk_full(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE chat_sessions"):
            raise OperationalError(statement, None, Exception("database or disk is full"))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", disk_full)
    try:
        response = client.post(
            f"/chats/{chat_id}/rename", data={"csrf_token": csrf, "title": "New title"}
        )
    finally:
        event.remove(engine, "before_cursor_execute", disk_full)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Could not save" in page and "the disk may be full" in page
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "pt-BR"
