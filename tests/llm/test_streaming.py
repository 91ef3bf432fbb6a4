"""open_chat_stream / ChatStream / list_models against the fake provider over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from calango.llm import (
    AuthError,
    BadRequestError,
    ConnectionLostError,
    Finish,
    NotFoundError,
    ProviderSettings,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    TextDelta,
    Usage,
    list_models,
    open_chat_stream,
)

CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is a calango?"},
    {"role": "assistant", "content": "A small lizard."},
    {"role": "user", "content": "Where does it live?"},
]


def collect(stream: object) -> tuple[str, list[Usage], list[Finish]]:
    events = list(stream)  # type: ignore[call-overload]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    usages = [e for e in events if isinstance(e, Usage)]
    finishes = [e for e in events if isinstance(e, Finish)]
    assert events[-1] == finishes[-1] and events[-2] == usages[-1], "Usage then Finish come last"
    return text, usages, finishes


def test_openai_stream_yields_text_then_provider_usage(fake, openai_settings):
    fake.script(reply="The answer is 42.", chunks=["The ", "answer ", "is ", "42."])
    with open_chat_stream(openai_settings, "gpt-4o", CONVERSATION) as stream:
        text, usages, finishes = collect(stream)
    assert text == "The answer is 42."
    assert usages == [
        Usage(prompt_tokens=sum(len(m["content"]) // 4 for m in CONVERSATION), completion_tokens=4)
    ]
    assert usages[0].total_tokens == usages[0].prompt_tokens + 4
    assert finishes == [Finish("stop")]
    request = fake.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer sk-test"
    body = request["json"]
    assert body["model"] == "gpt-4o"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == CONVERSATION


def test_anthropic_stream_sends_system_as_parameter(fake, anthropic_settings):
    fake.script(chunks=["Sand", "y soil."])
    stream = open_chat_stream(anthropic_settings, "claude-sonnet-4", CONVERSATION)
    text, usages, finishes = collect(stream)
    assert text == "Sandy soil."
    assert usages[0].completion_tokens == 2 and not usages[0].estimated
    assert finishes == [Finish("end_turn")]
    request = fake.requests[-1]
    assert request["path"] == "/v1/messages"
    headers = request["headers"]
    # Older SDKs send x-api-key, newer ones a bearer token.
    assert "sk-ant-test" in (headers.get("x-api-key"), headers.get("authorization", "")[7:])
    assert "anthropic-version" in request["headers"]
    body = request["json"]
    assert body["system"] == "You are terse."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][0]["content"] == "What is a calango?"
    assert body["max_tokens"] == 4096


def test_anthropic_joins_system_messages_and_accepts_v1_base_url(fake, anthropic_settings):
    settings = replace(anthropic_settings, base_url=fake.url + "/v1/")
    messages = [
        {"role": "system", "content": "One."},
        {"role": "system", "content": "Two."},
        {"role": "user", "content": "Hi"},
    ]
    list(open_chat_stream(settings, "claude", messages, max_tokens=100))
    body = fake.requests[-1]["json"]
    assert fake.requests[-1]["path"] == "/v1/messages"
    assert body["system"] == "One.\n\nTwo."
    assert body["messages"] == [{"role": "user", "content": "Hi"}]
    assert body["max_tokens"] == 100


def test_anthropic_without_system_prompt_sends_none(fake, anthropic_settings):
    list(open_chat_stream(anthropic_settings, "claude", [{"role": "user", "content": "Hi"}]))
    assert "system" not in fake.requests[-1]["json"]


def test_gemini_kind_uses_openai_protocol_at_base_url(fake):
    settings = ProviderSettings(
        "Google Gemini", "gemini", fake.openai_base_url, "g-key", max_retries=0
    )
    text, usages, _ = collect(open_chat_stream(settings, "gemini-2.5-flash", CONVERSATION))
    assert text == "Hello from fake"
    assert not usages[0].estimated
    assert fake.requests[-1]["path"] == "/v1/chat/completions"
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer g-key"


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_usage_is_estimated_when_provider_reports_none(fake, openai_settings, kind):
    settings = (
        openai_settings
        if kind == "openai"
        else replace(openai_settings, kind="anthropic", base_url=fake.anthropic_base_url)
    )
    fake.script(reply="x" * 40, chunk_size=10, usage=False)
    text, usages, _ = collect(
        open_chat_stream(settings, "m", [{"role": "user", "content": "y" * 20}])
    )
    assert text == "x" * 40
    assert usages == [Usage(prompt_tokens=5, completion_tokens=10, estimated=True)]


def test_max_tokens_name_depends_on_provider(fake, openai_settings):
    list(open_chat_stream(openai_settings, "gpt-5", CONVERSATION, max_tokens=50))
    assert fake.requests[-1]["json"]["max_completion_tokens"] == 50
    local = replace(openai_settings, name="My vLLM")
    list(open_chat_stream(local, "llama", CONVERSATION, max_tokens=60))
    assert fake.requests[-1]["json"]["max_tokens"] == 60
    list(open_chat_stream(local, "llama", CONVERSATION))
    assert "max_tokens" not in fake.requests[-1]["json"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (413, BadRequestError),
        (422, BadRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (529, ServerError),
    ],
)
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_http_errors_raise_typed_errors_on_open(fake, openai_settings, status, error, kind):
    settings = (
        openai_settings
        if kind == "openai"
        else replace(openai_settings, kind="anthropic", base_url=fake.anthropic_base_url)
    )
    fake.script(status=status)
    with pytest.raises(error) as info:
        open_chat_stream(settings, "some-model", CONVERSATION)
    assert info.value.status_code == status
    assert info.value.detail == f"fake error {status}"
    assert len(fake.requests) == 1


def test_error_detail_from_plain_text_body_is_truncated(fake, openai_settings):
    fake.script(status=401, error_body="Invalid key " + "x" * 1000)
    with pytest.raises(AuthError) as info:
        open_chat_stream(openai_settings, "m", CONVERSATION)
    assert info.value.detail.startswith("Invalid key xxx")
    assert len(info.value.detail) <= 300
    assert "401" in str(info.value)


def test_read_timeout_raises_provider_timeout(fake, openai_settings):
    fake.script(first_delay=1.5)
    settings = replace(openai_settings, read_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        list(open_chat_stream(settings, "m", CONVERSATION))
    assert time.monotonic() - started < 1.4


def test_unreachable_provider_raises_connection_lost():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    settings = ProviderSettings("X", "openai", f"http://127.0.0.1:{port}/v1", "k", max_retries=0)
    with pytest.raises(ConnectionLostError):
        open_chat_stream(settings, "m", CONVERSATION)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_cut_connection_raises_connection_lost_after_deltas(fake, openai_settings, kind):
    settings = (
        openai_settings
        if kind == "openai"
        else replace(openai_settings, kind="anthropic", base_url=fake.anthropic_base_url)
    )
    fake.script(chunks=["one ", "two ", "three ", "four"], cut_after=2)
    received: list[str] = []
    with (
        pytest.raises(ConnectionLostError),
        open_chat_stream(settings, "m", CONVERSATION) as stream,
    ):
        for event in stream:
            assert isinstance(event, TextDelta), "no Usage/Finish after a cut"
            received.append(event.text)
    assert received == ["one ", "two "]


def test_no_retry_once_tokens_were_streamed(fake, openai_settings):
    settings = replace(openai_settings, max_retries=2)
    fake.script(chunks=["a", "b", "c"], cut_after=1)
    with pytest.raises(ConnectionLostError):
        list(open_chat_stream(settings, "m", CONVERSATION))
    assert len([r for r in fake.requests if r["method"] == "POST"]) == 1


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_close_from_another_thread_ends_a_held_stream(fake, openai_settings, kind):
    settings = (
        openai_settings
        if kind == "openai"
        else replace(openai_settings, kind="anthropic", base_url=fake.anthropic_base_url)
    )
    fake.script(chunks=["first ", "second"])
    fake.hold()
    stream = open_chat_stream(settings, "m", CONVERSATION)
    events: list[object] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            events.extend(stream)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    reader = threading.Thread(target=consume)
    reader.start()
    assert fake.wait_until_held(), "the fake never got to the held chunk"
    assert reader.is_alive(), "the reader should be blocked on the held stream"
    stream.close()
    reader.join(2)
    assert not reader.is_alive(), "close() did not end the held stream"
    assert errors == []
    assert events == []
    assert stream.closed
    stream.close()  # idempotent


def test_close_between_events_ends_iteration_quietly(fake, openai_settings):
    fake.script(chunks=["a", "b", "c"])
    stream = open_chat_stream(openai_settings, "m", CONVERSATION)
    assert next(iter(stream)) == TextDelta("a")
    stream.close()
    assert list(stream) == []


def test_close_before_iterating_yields_nothing(fake, openai_settings):
    stream = open_chat_stream(openai_settings, "m", CONVERSATION)
    stream.close()
    assert list(stream) == []


def test_missing_key_for_remote_provider_is_an_auth_error(fake):
    settings = ProviderSettings("OpenAI", "openai", "https://api.openai.com/v1", None)
    with pytest.raises(AuthError):
        open_chat_stream(settings, "gpt-4o", CONVERSATION)
    assert fake.requests == []


def test_local_provider_without_key_sends_placeholder(fake):
    settings = ProviderSettings("Ollama", "openai", fake.openai_base_url, None, max_retries=0)
    list(open_chat_stream(settings, "llama3", CONVERSATION))
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer not-needed"


def test_unknown_kind_is_a_programming_error(openai_settings):
    with pytest.raises(ValueError, match="kind"):
        open_chat_stream(replace(openai_settings, kind="cohere"), "m", CONVERSATION)


def test_list_models_openai_and_anthropic(fake, openai_settings, anthropic_settings):
    fake.script(models=["zeta", "alpha", "mid"])
    assert list_models(openai_settings) == ["alpha", "mid", "zeta"]
    assert "anthropic-version" not in fake.requests[-1]["headers"]
    assert list_models(anthropic_settings) == ["alpha", "mid", "zeta"]
    assert "anthropic-version" in fake.requests[-1]["headers"]
    assert all(r["path"].startswith("/v1/models") for r in fake.requests)


def test_list_models_maps_errors(fake, openai_settings, anthropic_settings):
    fake.script(status=401)
    with pytest.raises(AuthError):
        list_models(openai_settings)
    with pytest.raises(AuthError):
        list_models(anthropic_settings)


def test_warm_up_sends_nothing_anywhere_and_never_raises(fake: Any) -> None:
    from calango.llm import warm_up

    before = len(fake.requests)
    warm_up()  # only a closed local port is tried
    assert len(fake.requests) == before
