"""Model parameters (temperature, output limit, reasoning effort) in each API's own form.

``ChatParams`` is what a chat asks for; ``openai_fields`` and ``anthropic_fields`` turn it into
the request fields of each protocol. A field left ``None`` is not sent: the provider's own
default applies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

EFFORTS = ("low", "medium", "high")
TEMPERATURE_MAX = 2.0
MAX_TOKENS_MAX = 200_000
ANTHROPIC_DEFAULT_MAX_TOKENS = 4096
# Anthropic's extended thinking takes a token budget instead of an effort (at least 1024).
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}

# Model id prefixes (lowercased, any "vendor/" prefix removed) that take a reasoning effort.
_REASONING_PREFIXES = (
    "o1",
    "o3",
    "o4",
    "gpt-5",
    "gpt-oss",
    "claude-3-7",
    "claude-sonnet-4",
    "claude-opus-4",
    "claude-haiku-4",
    "claude-4",
    "deepseek-r1",
    "deepseek-reasoner",
    "qwq",
    "grok-3-mini",
    "gemini-2.5",
)


@dataclass(frozen=True, slots=True)
class ChatParams:
    """What a chat asks the model for; ``None`` means the provider's default."""

    temperature: float | None = None
    max_tokens: int | None = None
    effort: str | None = None  # one of EFFORTS; only sent to reasoning models

    def as_json(self) -> dict[str, Any]:
        """The parameters that are set, as stored on a chat or an answer."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def is_reasoning_model(model: str) -> bool:
    """Whether ``model`` takes a reasoning effort (a small table of known families)."""
    name = (model or "").lower().strip().rsplit("/", 1)[-1]
    return name.startswith(_REASONING_PREFIXES)


def openai_fields(params: ChatParams, model: str, official: bool) -> dict[str, Any]:
    """Request fields for an OpenAI-compatible endpoint.

    OpenAI's own API wants ``max_completion_tokens`` (its reasoning models refuse
    ``max_tokens``); compatible servers may only know ``max_tokens``. OpenAI's reasoning
    models also refuse any temperature but the default, so none is sent to them.
    """
    fields: dict[str, Any] = {}
    reasoning = is_reasoning_model(model)
    if params.temperature is not None and not (official and reasoning):
        fields["temperature"] = params.temperature
    if params.max_tokens is not None:
        fields["max_completion_tokens" if official else "max_tokens"] = params.max_tokens
    if params.effort in EFFORTS and reasoning:
        fields["reasoning_effort"] = params.effort
    return fields


def anthropic_fields(params: ChatParams, model: str) -> dict[str, Any]:
    """Request fields for Anthropic's Messages API (``max_tokens`` is always sent: required).

    An effort becomes extended thinking with a token budget; the output limit then has to
    leave room beyond the budget, and a temperature cannot be combined with thinking.
    """
    max_tokens = params.max_tokens or ANTHROPIC_DEFAULT_MAX_TOKENS
    fields: dict[str, Any] = {}
    if params.effort in EFFORTS and is_reasoning_model(model):
        budget = THINKING_BUDGETS[params.effort or "low"]
        fields["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if max_tokens <= budget:
            max_tokens = budget + ANTHROPIC_DEFAULT_MAX_TOKENS
    elif params.temperature is not None:
        # Anthropic accepts 0–1.
        fields["temperature"] = min(params.temperature, 1.0)
    fields["max_tokens"] = max_tokens
    return fields
