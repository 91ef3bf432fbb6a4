"""Prices per million tokens, and the cost of one answer.

Prices come from the user's overrides, else are zero for local runtimes (a provider marked
so: Ollama, LM Studio, vLLM... a local *address* alone is not enough), else from the price
table bundled with ``genai-prices`` (offline: we never start its auto-updater). Without any,
the price is unknown (``None``): the page says so instead of showing $0.00.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from calango.llm.providers import provider_family
from calango.llm.streaming import Usage

log = logging.getLogger(__name__)

MILLION = Decimal(1_000_000)
COST_QUANTUM = Decimal("0.00000001")  # 8 decimal places of a dollar
# Costs are stored as NUMERIC(14, 8): anything from a million dollars up is not a real answer's
# cost but a wrong price, and would not fit.
COST_LIMIT = Decimal(1_000_000)
# Prices users may set, in USD per million tokens (the dearest real models cost a few hundred).
PRICE_LIMIT = Decimal(1_000_000)
# genai-prices provider ids for our provider families.
_GENAI_PROVIDER = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "groq": "groq",
    "openrouter": "openrouter",
}
# Price a sample this size: large enough for exact decimals, small enough to stay in the
# base tier of tiered prices (e.g. Gemini's "over 200k tokens" tier).
_SAMPLE_TOKENS = 1000


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens, and where the numbers came from."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    source: str  # "override" | "local" | "genai-prices"


def _decimal(value: float | str | Decimal | None) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and number >= 0 else None


def _override(
    overrides: Mapping[str, Mapping[str, float | str]] | None, model: str
) -> Price | None:
    entry = (overrides or {}).get(model)
    if not isinstance(entry, Mapping):
        return None
    input_price, output_price = _decimal(entry.get("input")), _decimal(entry.get("output"))
    if input_price is None and output_price is None:
        return None
    return Price(input_price or Decimal(0), output_price or Decimal(0), "override")


@lru_cache(maxsize=1024)
def _genai_price(provider_id: str | None, model: str) -> Price | None:
    from genai_prices import Usage as GenaiUsage
    from genai_prices import calc_price

    usage = GenaiUsage(input_tokens=_SAMPLE_TOKENS, output_tokens=_SAMPLE_TOKENS)
    try:
        calc = calc_price(usage, model, provider_id=provider_id)
    except LookupError:
        return None
    except Exception:  # a price table quirk must never break a chat
        log.warning("genai-prices failed for %s/%s", provider_id, model, exc_info=True)
        return None
    scale = MILLION / _SAMPLE_TOKENS
    return Price(_tidy(calc.input_price * scale), _tidy(calc.output_price * scale), "genai-prices")


def _tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without turning 10 into 1E+1."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value  # type: ignore[operator]


def find_price(
    provider_name: str,
    kind: str,
    base_url: str | None,
    model: str,
    overrides: Mapping[str, Mapping[str, float | str]] | None = None,
    local_runtime: bool = False,
) -> Price | None:
    """The price of ``model`` at this provider, or ``None`` when unknown.

    ``overrides`` maps model → ``{"input": usd_per_mtok, "output": usd_per_mtok}``;
    ``local_runtime``: the provider runs on the user's machine (free).
    """
    price = _override(overrides, model)
    if price is not None:
        return price
    if local_runtime:
        return Price(Decimal(0), Decimal(0), "local")
    if not model:
        return None
    family = provider_family(provider_name, kind, base_url)
    provider_id = _GENAI_PROVIDER.get(family or "")
    if provider_id is not None:
        price = _genai_price(provider_id, model)
        if price is not None:
            return price
    return _genai_price(None, model)


def compute_cost(price: Price | None, usage: Usage | None) -> Decimal | None:
    """USD cost of ``usage`` at ``price``, to 8 decimal places; ``None`` without a price, and
    for a cost of a million dollars or more (an absurd price, e.g. from old data)."""
    if price is None or usage is None:
        return None
    try:
        raw = (
            Decimal(usage.prompt_tokens) * price.input_per_mtok
            + Decimal(usage.completion_tokens) * price.output_per_mtok
        ) / MILLION
        cost = raw.quantize(COST_QUANTUM)
    except (InvalidOperation, ArithmeticError):
        log.warning("cost out of range at %r", price)
        return None
    if not cost.is_finite() or cost >= COST_LIMIT:
        log.warning("cost %s out of range at %r", cost, price)
        return None
    return cost
