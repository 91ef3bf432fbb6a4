"""Hatch a persona: one sentence in, a proposed persona out, for the user to edit and save.

The chosen model is asked for a structured answer (``calango.llm.structured``); the object
is validated (types and sizes). An invalid answer is asked for once more, with what was
wrong; a second invalid answer is an error the user sees. Every request is recorded as a
provider call of kind ``hatch`` with its tokens and cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from calango.accounts import current_user_id
from calango.extensions import db
from calango.llm import ProviderError, compute_cost, find_price
from calango.llm.structured import StructuredAnswer, complete_json
from calango.models import CallKind, Provider
from calango.models.names import NAME_MAX
from calango.models.persona import (
    DESCRIPTION_MAX,
    PROMPT_MAX,
    STARTER_MAX,
    STARTERS_MAX,
    TRAIT_MAX,
    TRAITS_MAX,
)
from calango.services import budgets
from calango.services.call_log import recorded_call

# The one place that turns a provider row into settings with its key (and says what to fix
# when it cannot) is the chat service's.
from calango.services.chat import ChatInputError, resolve_provider
from calango.services.composer import split_model_value
from calango.services.provider_errors import describe_provider_error

log = logging.getLogger(__name__)

TOOL_NAME = "propose_persona"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": f"At most {NAME_MAX} characters."},
        "description": {"type": "string", "description": "One short sentence."},
        "traits": {
            "type": "array",
            "items": {"type": "string"},
            "description": f"2 to {TRAITS_MAX} one- or two-word personality traits.",
        },
        "system_prompt": {"type": "string", "description": "Instructions, second person."},
        "starters": {
            "type": "array",
            "items": {"type": "string"},
            "description": f"Up to {STARTERS_MAX} first messages a user might send.",
        },
    },
    "required": ["name", "description", "traits", "system_prompt", "starters"],
    "additionalProperties": False,
}
SYSTEM = (
    "You design personas for a chat app. From the user's one-sentence description, propose "
    "a persona: a short memorable name, a one-sentence description, a few personality "
    "traits, a system prompt (clear instructions addressed to the assistant, in the "
    "description's language) and a few starter messages the user could send first."
)


class HatchFailed(Exception):
    """The persona could not be hatched; ``message`` is translated and safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Proposal:
    """A proposed persona, already within every bound of the persona form."""

    name: str
    description: str
    prompt: str
    traits: list[str] = field(default_factory=list)
    starters: list[str] = field(default_factory=list)


def _text(data: dict[str, Any], key: str, limit: int, required: bool = True) -> str:
    value = data.get(key)
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f'"{key}" must be a non-empty string')
    if len(value.strip()) > limit:
        raise ValueError(f'"{key}" must be at most {limit} characters')
    return value.strip()


def _texts(data: dict[str, Any], key: str, count: int, limit: int) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f'"{key}" must be a list of strings')
    items = [v.strip() for v in value if v.strip()]
    if len(items) > count:
        raise ValueError(f'"{key}" must have at most {count} items')
    if any(len(v) > limit for v in items):
        raise ValueError(f'each of "{key}" must be at most {limit} characters')
    return items


def validate_proposal(data: Any) -> Proposal:
    """A :class:`Proposal` from the model's object; ``ValueError`` says what is wrong (in
    English: it is sent back to the model)."""
    if not isinstance(data, dict):
        raise ValueError("the answer must be one JSON object")
    return Proposal(
        name=_text(data, "name", NAME_MAX),
        description=_text(data, "description", DESCRIPTION_MAX, required=False),
        prompt=_text(data, "system_prompt", PROMPT_MAX),
        traits=[t.rstrip(".") for t in _texts(data, "traits", TRAITS_MAX, TRAIT_MAX)],
        starters=_texts(data, "starters", STARTERS_MAX, STARTER_MAX),
    )


def hatch(description: str, model_value: str) -> Proposal:
    """Propose a persona from ``description`` with the model ``model_value`` names
    (a ``"<provider id>:<model>"`` pair); raises :class:`HatchFailed`."""
    provider_id, _model = split_model_value(model_value)
    provider = db.session.get(Provider, provider_id) if provider_id is not None else None
    if provider is None:
        raise HatchFailed(_("Pick a model to hatch the persona with."))
    try:
        budgets.check_budget(current_user_id())
    except budgets.BudgetExceeded as exc:
        raise HatchFailed(exc.message) from None
    try:
        provider, settings, model = resolve_provider(provider.name, model_value)
    except ChatInputError as exc:
        raise HatchFailed(exc.message) from None
    price = find_price(
        provider_name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        model=model,
        overrides=provider.price_overrides,
    )
    user = description
    for attempt in range(2):
        try:
            with recorded_call(CallKind.HATCH, provider.name, model) as usage:
                answer = complete_json(settings, model, SYSTEM, user, SCHEMA, TOOL_NAME)
                usage.prompt_tokens = answer.usage.prompt_tokens
                usage.completion_tokens = answer.usage.completion_tokens
                usage.cost = _cost(price, answer)
        except ProviderError as exc:
            raise HatchFailed(describe_provider_error(exc, provider.name)) from None
        try:
            return validate_proposal(answer.data)
        except ValueError as problem:
            log.info("hatch answer %d was invalid: %s", attempt + 1, problem)
            user = (
                f"{description}\n\nYour previous answer was not valid ({problem}). Answer "
                "again with only the JSON object."
            )
    raise HatchFailed(
        _(
            "The model did not propose a valid persona, twice. Try again, describe the "
            "persona differently, or pick another model."
        )
    )


def _cost(price: Any, answer: StructuredAnswer) -> Any:
    try:
        return compute_cost(price, answer.usage)
    except Exception:
        return None
