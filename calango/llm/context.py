"""Token estimates, context windows, and trimming a conversation to fit."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from calango.llm.content import image_tokens

DEFAULT_CONTEXT_WINDOW = 32768

# Longest matching prefix wins (matched against the model id lowercased, with any
# "vendor/" prefix of routers such as OpenRouter removed).
_WINDOWS: dict[str, int] = {
    "gpt-3.5": 16385,
    "gpt-4": 8192,
    "gpt-4-32k": 32768,
    "gpt-4-turbo": 128000,
    "gpt-4o": 128000,
    "gpt-4.1": 1047576,
    "gpt-4.5": 128000,
    "gpt-5": 400000,
    "o1": 200000,
    "o3": 200000,
    "o4": 200000,
    "claude": 200000,
    "gemini": 1000000,
    "gemini-1.0": 32768,
    "gemini-pro": 32768,
    "gemma": 8192,
    "gemma2": 8192,
    "gemma3": 128000,
    "llama3": 8192,
    "llama-3": 8192,
    "llama3.1": 128000,
    "llama3.2": 128000,
    "llama3.3": 128000,
    "llama-3.1": 128000,
    "llama-3.2": 128000,
    "llama-3.3": 128000,
    "llama-4": 131072,
    "mistral": 32768,
    "mixtral": 32768,
    "qwen": 32768,
    "qwen2.5": 128000,
    "qwen3": 128000,
    "deepseek": 128000,
    "grok": 131072,
}


def estimate_tokens(text: str) -> int:
    """A rough token count: one token per four characters, at least 1 for non-empty text."""
    if not text:
        return 0
    return max(1, math.ceil(len(text) / 4))


def context_window(model: str) -> int:
    """The model's context window in tokens, from a small table; 32768 when unknown."""
    name = (model or "").lower().strip()
    name = name.rsplit("/", 1)[-1]  # "openai/gpt-4o", "models/gemini-2.5-pro"
    best = ""
    for prefix in _WINDOWS:
        if name.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return _WINDOWS[best] if best else DEFAULT_CONTEXT_WINDOW


def message_tokens(message: dict[str, Any]) -> int:
    """A context message's estimated tokens: its text and its pictures."""
    tokens = estimate_tokens(str(message.get("content") or ""))
    for image in message.get("images") or ():
        tokens += image_tokens(image.width, image.height)
    return tokens


def context_budget(model: str) -> int:
    """The tokens a context may hold for ``model``: its window less a reserve for the answer."""
    window = context_window(model)
    return window - min(4096, window // 4)


def _kept(roles: Sequence[str], sizes: Sequence[int], budget_tokens: int) -> list[int]:
    """The positions :func:`trim_to_budget` keeps, from each message's role and tokens."""
    count = len(roles)
    if not count:
        return []
    lead = 0
    while lead < count - 1 and roles[lead] == "system":
        lead += 1
    total = sum(sizes)
    start = lead
    while start < count - 1 and total > budget_tokens:
        total -= sizes[start]
        start += 1
    if start > lead:
        # An answer makes no sense without its question (and Anthropic wants a user turn
        # first): once trimming, don't start the history on an assistant message.
        while start < count - 1 and roles[start] == "assistant":
            start += 1
    return [*range(lead), *range(start, count)]


def trim_to_budget(messages: list[dict[str, Any]], budget_tokens: int) -> list[dict[str, Any]]:
    """Drop the oldest non-system messages until the estimated total fits ``budget_tokens``.

    Leading system messages and the last message are always kept (so the result may still
    exceed a tiny budget, and is never empty when the input is not); order is preserved.
    """
    roles = [str(m.get("role") or "") for m in messages]
    sizes = [message_tokens(m) for m in messages]
    return [messages[i] for i in _kept(roles, sizes, budget_tokens)]


def trimmed_tokens(turns: Sequence[tuple[str, int]], budget_tokens: int) -> int:
    """The tokens of a context given as (role, tokens) per message, once trimmed exactly as
    :func:`trim_to_budget` would trim it (for estimates that never load the texts)."""
    roles = [role for role, _size in turns]
    sizes = [size for _role, size in turns]
    return sum(sizes[i] for i in _kept(roles, sizes, budget_tokens))
