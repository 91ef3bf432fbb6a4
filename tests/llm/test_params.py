"""Model parameters in each API's own form, and the structured answer's JSON finder."""

from __future__ import annotations

from calango.llm.params import (
    ChatParams,
    anthropic_fields,
    is_reasoning_model,
    openai_fields,
)
from calango.llm.structured import find_json_object


def test_openai_official_takes_max_completion_tokens_and_no_temperature_for_reasoning():
    params = ChatParams(temperature=0.7, max_tokens=100, effort="high")
    assert openai_fields(params, "gpt-4o", official=True) == {
        "temperature": 0.7,
        "max_completion_tokens": 100,
    }
    assert openai_fields(params, "o3-mini", official=True) == {
        "max_completion_tokens": 100,
        "reasoning_effort": "high",
    }


def test_compatible_servers_take_max_tokens():
    params = ChatParams(temperature=0.0, max_tokens=50)
    assert openai_fields(params, "llama3.1", official=False) == {
        "temperature": 0.0,
        "max_tokens": 50,
    }
    assert openai_fields(ChatParams(), "llama3.1", official=False) == {}


def test_anthropic_effort_becomes_a_thinking_budget_with_room_to_answer():
    fields = anthropic_fields(ChatParams(temperature=0.5, effort="low"), "claude-opus-4-1")
    assert fields["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert "temperature" not in fields
    assert fields["max_tokens"] > 1024
    assert anthropic_fields(ChatParams(), "claude-3-5-haiku") == {"max_tokens": 4096}
    no_thinking = anthropic_fields(ChatParams(effort="high"), "claude-3-5-haiku")
    assert "thinking" not in no_thinking


def test_reasoning_models_are_recognised_through_routers():
    assert is_reasoning_model("openai/o4-mini")
    assert is_reasoning_model("gpt-5")
    assert not is_reasoning_model("gpt-4o-mini")
    assert not is_reasoning_model("")


def test_json_objects_are_found_in_answers():
    assert find_json_object('{"a": 1}') == {"a": 1}
    assert find_json_object('Sure:\n```json\n{"a": [1]}\n```') == {"a": [1]}
    assert find_json_object('Here {"a": 2} ok') == {"a": 2}
    assert find_json_object("[1, 2]") is None
    assert find_json_object("no json") is None
