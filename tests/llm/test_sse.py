"""SSE framing and the two stream decoders, including error events mid-stream."""

from __future__ import annotations

import json

import pytest

from calango.llm import AuthError, NotAnApiError, RateLimitError, ServerError
from calango.llm.sse import AnthropicDecoder, OpenAIDecoder, ServerSentEvent, iter_sse


def sse(payload: object, event: str = "message") -> ServerSentEvent:
    return ServerSentEvent(event, json.dumps(payload))


def test_iter_sse_groups_lines_and_skips_comments():
    lines = [
        ": keepalive",
        "event: a",
        "data: one",
        "data: two",
        "",
        "",
        "data:three",
        "id: 7",
        "",
        "data: tail",
    ]
    assert list(iter_sse(lines)) == [
        ServerSentEvent("a", "one\ntwo"),
        ServerSentEvent("message", "three"),
        ServerSentEvent("message", "tail"),
    ]


def test_openai_decoder_text_usage_finish_and_done():
    decoder = OpenAIDecoder()
    assert decoder.feed(sse({"choices": [{"delta": {"role": "assistant", "content": ""}}]})) == ""
    assert decoder.feed(sse({"choices": [{"delta": {"content": "Hi"}}]})) == "Hi"
    assert decoder.feed(sse({"choices": [{"delta": {}, "finish_reason": "length"}]})) == ""
    usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    decoder.feed(sse({"choices": [], "usage": usage}))
    assert decoder.feed(ServerSentEvent("message", "[DONE]")) == ""
    assert (decoder.prompt_tokens, decoder.completion_tokens) == (7, 3)
    assert decoder.finish_reason == "length"
    assert decoder.done


def test_openai_decoder_reads_groq_usage():
    decoder = OpenAIDecoder()
    decoder.feed(
        sse({"choices": [], "x_groq": {"usage": {"prompt_tokens": 1, "completion_tokens": 2}}})
    )
    assert (decoder.prompt_tokens, decoder.completion_tokens) == (1, 2)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"error": {"message": "slow down", "type": "rate_limit_exceeded"}}, RateLimitError),
        ({"error": {"message": "bad key", "code": 401}}, AuthError),
        ({"error": {"message": "boom"}}, ServerError),
        ({"error": "plain"}, ServerError),
    ],
)
def test_openai_error_chunk_raises_typed_error(payload, error):
    with pytest.raises(error) as info:
        OpenAIDecoder().feed(sse(payload))
    assert info.value.detail in ("slow down", "bad key", "boom", "plain")


def test_malformed_event_says_it_is_not_the_api():
    with pytest.raises(NotAnApiError, match="malformed"):
        OpenAIDecoder().feed(ServerSentEvent("message", "{not json"))
    with pytest.raises(NotAnApiError, match="malformed"):
        AnthropicDecoder().feed(ServerSentEvent("content_block_delta", "{"))


def test_anthropic_decoder_text_usage_and_stop():
    decoder = AnthropicDecoder()
    start = {
        "type": "message_start",
        "message": {
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}
        },
    }
    decoder.feed(sse(start, "message_start"))
    delta = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Oi"}}
    assert decoder.feed(sse(delta, "content_block_delta")) == "Oi"
    thinking = {"type": "content_block_delta", "delta": {"type": "thinking_delta", "thinking": "."}}
    assert decoder.feed(sse(thinking, "content_block_delta")) == ""
    assert decoder.feed(sse({"type": "ping"}, "ping")) == ""
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": "max_tokens"},
        "usage": {"output_tokens": 12},
    }
    decoder.feed(sse(end, "message_delta"))
    decoder.feed(sse({"type": "message_stop"}, "message_stop"))
    assert (decoder.prompt_tokens, decoder.completion_tokens) == (15, 12)
    assert decoder.finish_reason == "max_tokens"
    assert decoder.done


def test_anthropic_error_event_raises_typed_error():
    payload = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(ServerError) as info:
        AnthropicDecoder().feed(sse(payload, "error"))
    assert info.value.status_code == 529
    assert info.value.detail == "Overloaded"
