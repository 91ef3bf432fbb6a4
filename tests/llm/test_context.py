"""Token estimates, context windows, trimming."""

from __future__ import annotations

from calango.llm import context_window, estimate_tokens, trim_to_budget


def test_estimate_tokens():
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 400) == 100


def test_context_window():
    assert context_window("gpt-4o-mini") == 128000
    assert context_window("gpt-4.1") >= 1000000
    assert context_window("gpt-5") >= 128000
    assert context_window("claude-sonnet-4-5") == 200000
    assert context_window("gemini-2.5-pro") == 1000000
    assert context_window("models/gemini-2.0-flash") == 1000000
    assert context_window("llama3") == 8192
    assert context_window("llama3.1:8b") == 128000
    assert context_window("openai/gpt-4o") == 128000
    assert context_window("who-knows") == 32768


def msg(role: str, n: int) -> dict[str, str]:
    return {"role": role, "content": "x" * (4 * n)}  # n tokens


def test_trim_keeps_everything_within_budget():
    messages = [msg("system", 10), msg("user", 10), msg("assistant", 10), msg("user", 10)]
    assert trim_to_budget(messages, 40) == messages


def test_trim_drops_oldest_first_and_keeps_system_and_last():
    system, u1, a1, u2, a2, u3 = (
        msg("system", 10),
        msg("user", 10),
        msg("assistant", 10),
        msg("user", 11),
        msg("assistant", 12),
        msg("user", 13),
    )
    trimmed = trim_to_budget([system, u1, a1, u2, a2, u3], 50)
    assert trimmed == [system, u2, a2, u3]
    trimmed = trim_to_budget([system, u1, a1, u2, a2, u3], 40)
    # dropping u1, a1, u2 would leave the history starting on an answer: drop it too
    assert trimmed == [system, u3]


def test_trim_never_empties_the_conversation():
    system, last = msg("system", 100), msg("user", 100)
    assert trim_to_budget([system, msg("user", 5), last], 10) == [system, last]
    assert trim_to_budget([last], 1) == [last]
    assert trim_to_budget([], 10) == []
    only_system = [msg("system", 50)]
    assert trim_to_budget(only_system, 1) == only_system
