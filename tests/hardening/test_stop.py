"""Item 7: Stop means stop, even when the provider accepted the request and never answers."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from calango.extensions import db
from calango.llm.cancel import CancellableBackend
from calango.llm.clients import shared_http_client
from calango.models import ChatMessage, Provider
from config import TestConfig
from tests.helpers import finish, messages_of, send, wait_until


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    # Long enough that only Stop, never the timeout, can end these answers while the test
    # waits; retries allowed, to show that none starts after Stop.
    app_config.PROVIDER_READ_TIMEOUT = 60.0
    app_config.PROVIDER_MAX_RETRIES = 3
    return app_config


def test_every_provider_connection_can_be_cut() -> None:
    # Stop relies on it; a new httpx that ignored the backend would make Stop wait for the
    # read timeout again.
    assert isinstance(shared_http_client()._transport._pool._network_backend, CancellableBackend)  # type: ignore[attr-defined]


@pytest.mark.parametrize("hang", ["before_headers", "after_headers"])
def test_stop_cuts_a_provider_that_never_answers_and_retries_nothing(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any, hang: str
) -> None:
    fake.script(hang=hang)
    created = send(client, csrf, "hello?").get_json()
    chat_id = created["chat_id"]
    wait_until(lambda: len(fake.requests) == 1)
    message_id = messages_of(app, chat_id)[1].id
    stopped = client.post(
        f"/chats/{chat_id}/messages/{message_id}/stop",
        data={"csrf_token": csrf},
        headers={"Accept": "application/json"},
    )
    assert stopped.get_json() == {"stopped": True}
    # The provider sees its connection closed: by Stop, as the read timeout is a minute away.
    wait_until(lambda: fake.disconnects == 1, timeout=5)
    finish(app)
    answer = messages_of(app, chat_id)[1]
    assert answer.status == "stopped"
    assert len(fake.requests) == 1  # no retry after Stop


def test_stop_from_another_worker_cuts_a_request_waiting_for_headers(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:

    fake.script(hang="before_headers")
    chat_id = send(client, csrf, "hello?").get_json()["chat_id"]
    wait_until(lambda: len(fake.requests) == 1)
    message_id = messages_of(app, chat_id)[1].id
    with app.app_context():  # what Stop in another worker writes
        db.session.execute(
            update(ChatMessage).where(ChatMessage.id == message_id).values(stop_requested=True)
        )
        db.session.commit()
    wait_until(lambda: fake.disconnects == 1, timeout=5)
    finish(app)
    assert messages_of(app, chat_id)[1].status == "stopped"
    assert len(fake.requests) == 1


class TestRetriesShareTheReadTimeout:
    @pytest.fixture
    def app_config(self, app_config: TestConfig) -> TestConfig:
        app_config.PROVIDER_READ_TIMEOUT = 1.0
        app_config.PROVIDER_MAX_RETRIES = 5
        return app_config

    def test_a_silent_provider_gets_one_attempt_per_read_timeout(
        self, app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
    ) -> None:
        fake.script(hang="before_headers")
        chat_id = send(client, csrf, "hello?").get_json()["chat_id"]
        finish(app)
        answer = messages_of(app, chat_id)[1]
        assert answer.status == "error"
        assert "took too long" in answer.error
        # The first attempt used the whole read timeout: five more would have taken six.
        assert len(fake.requests) == 1

    def test_the_no_js_send_redirects_before_the_provider_answers(
        self, app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
    ) -> None:
        fake.script(hang="before_headers")
        response = send(client, csrf, "hello?", json=False)
        assert response.status_code == 303
        chat_id = response.headers["Location"].split("/chats/")[1].split("#")[0]
        # The redirect does not wait for the provider: the page shows the answer being
        # written (and refreshes itself) until it ends with the timeout's error.
        assert messages_of(app, chat_id)[1].status == "streaming"
        finish(app)
        assert messages_of(app, chat_id)[1].status == "error"
        assert len(fake.requests) == 1


def test_a_cancelled_token_refuses_new_requests_at_once(fake: Any) -> None:
    from calango.llm import CancelToken, ProviderSettings, RequestCancelled, open_chat_stream

    token = CancelToken()
    token.cancel()
    settings = ProviderSettings("Fake", "openai", fake.openai_base_url, "k", max_retries=3)
    with pytest.raises(RequestCancelled):
        open_chat_stream(settings, "m", [{"role": "user", "content": "hi"}], cancel=token)
    assert fake.requests == []
