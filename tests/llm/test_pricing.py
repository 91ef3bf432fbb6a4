"""Prices (override, local, genai-prices) and cost arithmetic."""

from __future__ import annotations

from decimal import Decimal

from calango.llm import Price, Usage, compute_cost, find_price


def test_override_wins():
    overrides = {"gpt-4o": {"input": 1, "output": "2.5"}}
    price = find_price("OpenAI", "openai", None, "gpt-4o", overrides)
    assert price == Price(Decimal(1), Decimal("2.5"), "override")
    local = find_price("Ollama", "openai", "http://localhost:11434/v1", "gpt-4o", overrides)
    assert local is not None and local.source == "override"


def test_local_runtimes_are_free():
    price = find_price(
        "Ollama", "openai", "http://localhost:11434/v1", "llama3.1", local_runtime=True
    )
    assert price == Price(Decimal(0), Decimal(0), "local")


def test_a_local_address_alone_is_not_free():
    # A proxy on this machine or the private network may forward to a paid API.
    for url in ("http://localhost:4000/v1", "http://10.0.0.5/v1", "http://127.0.0.1:8000/v1"):
        assert find_price("House proxy", "openai", url, "house-model") is None
    # Its known models keep their real prices.
    proxied = find_price("House proxy", "openai", "http://localhost:4000/v1", "gpt-4o")
    assert proxied is not None and proxied.source == "genai-prices"
    assert proxied.input_per_mtok > 0


def test_known_model_priced_from_genai_prices_offline():
    price = find_price("OpenAI", "openai", None, "gpt-4o")
    assert price is not None
    assert price.source == "genai-prices"
    assert Decimal(0) < price.input_per_mtok < price.output_per_mtok
    claude = find_price("Anthropic", "anthropic", None, "claude-3-5-sonnet-latest")
    assert claude is not None and claude.input_per_mtok > 0
    routed = find_price("OpenRouter", "openai", "https://openrouter.ai/api/v1", "openai/gpt-4o")
    assert routed is not None and routed.source == "genai-prices"


def test_unknown_model_has_no_price():
    assert find_price("OpenAI", "openai", None, "no-such-model-xyz") is None
    assert find_price("Custom", "openai", "https://llm.example.com/v1", "house-model") is None


def test_genai_prices_does_no_network(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network access during a price lookup")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert (
        find_price("Groq", "openai", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile")
        is not None
    )


def test_compute_cost_quantizes_to_8_places():
    price = Price(Decimal("2.5"), Decimal("10"), "genai-prices")
    cost = compute_cost(price, Usage(prompt_tokens=1234, completion_tokens=567))
    assert cost == Decimal("0.008755")
    assert cost.as_tuple().exponent == -8
    tiny = compute_cost(Price(Decimal("0.1"), Decimal("0.1"), "override"), Usage(1, 0))
    assert tiny == Decimal("0.00000010")
    assert compute_cost(None, Usage(10, 10)) is None
    free = compute_cost(Price(Decimal(0), Decimal(0), "local"), Usage(10, 10))
    assert free == Decimal("0E-8")
