"""Model parameters per chat, with the persona's defaults.

A chat stores what the user set in its composer (``ChatSession.params``); what is not set
there comes from the persona (``Persona.params``); what neither sets is left to the
provider. Every answer stores the parameters it was sent with (``ChatMessage.params``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from calango.i18n import format_number
from calango.llm import EFFORTS, ChatParams
from calango.llm.params import MAX_TOKENS_MAX, TEMPERATURE_MAX


class InvalidParameters(ValueError):
    """A parameter is out of range; the message is translated and safe to show."""


def parse(temperature: Any, max_tokens: Any, effort: Any) -> ChatParams:
    """Parameters from form text (blank means "not set"); raises :class:`InvalidParameters`."""
    return ChatParams(
        temperature=_temperature(temperature),
        max_tokens=_max_tokens(max_tokens),
        effort=_effort(effort),
    )


def from_json(value: Any) -> ChatParams:
    """Stored parameters (a chat's, a persona's, an import's); anything invalid is dropped."""
    if not isinstance(value, Mapping):
        return ChatParams()
    fields: dict[str, Any] = {}
    for name, check in (
        ("temperature", _temperature),
        ("max_tokens", _max_tokens),
        ("effort", _effort),
    ):
        try:
            fields[name] = check(value.get(name))
        except InvalidParameters:
            fields[name] = None
    return ChatParams(**fields)


def merged(chosen: ChatParams, defaults: ChatParams) -> ChatParams:
    """``chosen`` where set, else ``defaults``."""
    return ChatParams(
        temperature=chosen.temperature if chosen.temperature is not None else defaults.temperature,
        max_tokens=chosen.max_tokens if chosen.max_tokens is not None else defaults.max_tokens,
        effort=chosen.effort or defaults.effort,
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _temperature(value: Any) -> float | None:
    if _blank(value):
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        number = math.nan
    if isinstance(value, bool) or not 0 <= number <= TEMPERATURE_MAX:
        raise InvalidParameters(
            _(
                "The temperature must be a number from 0 to %(max)s.",
                max=format_number(TEMPERATURE_MAX),
            )
        )
    return round(number, 2)


def _max_tokens(value: Any) -> int | None:
    if _blank(value):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if isinstance(value, bool) or not 1 <= number <= MAX_TOKENS_MAX:
        raise InvalidParameters(
            _(
                "The output limit must be a whole number of tokens from 1 to %(max)s.",
                max=format_number(MAX_TOKENS_MAX),
            )
        )
    return number


def _effort(value: Any) -> str | None:
    if _blank(value):
        return None
    if value not in EFFORTS:
        raise InvalidParameters(_("Pick a reasoning effort from the list."))
    return str(value)


class SendOptions:
    """What the composer sends besides the message: model parameters as typed (checked by
    the send, which says what to fix), the profile toggle (``None``: not offered) and the
    chat's spending cap."""

    def __init__(
        self,
        temperature: Any = None,
        max_tokens: Any = None,
        effort: Any = None,
        profile: bool | None = None,
        spend_cap: Any = None,
    ) -> None:
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.effort = effort
        self.profile = profile
        # The chat's spending cap as typed ("" clears it); None: not offered, the chat's
        # own holds (calango.services.spend_cap).
        self.spend_cap = spend_cap

    def params(self) -> ChatParams:
        """The parameters typed; raises :class:`InvalidParameters`."""
        return parse(self.temperature, self.max_tokens, self.effort)
