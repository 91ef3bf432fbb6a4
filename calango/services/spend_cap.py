"""A chat's spending cap and the estimate of a turn's input cost (issue #17 item 5).

A chat may spend at most its cap (``ChatSession.spend_cap_usd``), else the user's default
cap (``DEFAULT_CAP_KEY``, Settings → Spending), else anything. A send, regenerate, retry or
edit is refused before the provider is called when the chat's spend so far (the frozen
``cost`` of its messages, on every branch) plus this turn's estimated input cost would pass
the cap. The estimate counts the context as it would be sent: system prompt, profile, the
branch trimmed to the model's budget, the typed text (and, later, attached files' text) —
:func:`turn_tokens` is the one place that counts it.

A chat without a cap pays nothing for this: the default cap comes with the settings the
send's first statement already reads, the chat's own with the row its claim returns; only a
capped send sums the chat's spend (one statement).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from calango.extensions import db
from calango.i18n import format_money, format_number
from calango.llm import Price, estimate_tokens, message_tokens, trimmed_tokens
from calango.llm.context import context_budget
from calango.llm.pricing import MILLION
from calango.models import ChatMessage
from calango.services.preferences import DEFAULT_CAP_KEY, setting_value

CAP_MAX = Decimal(1_000_000)  # USD; beyond any real chat, and fits NUMERIC(12, 4)
CAP_QUANTUM = Decimal("0.0001")


class InvalidCap(ValueError):
    """A typed cap is not an amount in range; the message is translated and safe to show."""


def parse_cap(value: Any) -> Decimal | None:
    """A cap typed in a form ("0.50", "0,50", "$ 2"); blank means none. Raises
    :class:`InvalidCap` with a translated message."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().replace("US$", "").replace("$", "").replace(",", ".").strip()
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        amount = Decimal("NaN")
    if isinstance(value, bool) or not amount.is_finite() or not 0 <= amount <= CAP_MAX:
        raise InvalidCap(
            _(
                "The spending cap must be an amount in US$ from 0 to %(max)s, such as 0.50.",
                max=format_number(CAP_MAX),
            )
        )
    return amount.quantize(CAP_QUANTUM)


def stored_cap(value: Any) -> Decimal | None:
    """A stored cap (the chat's column, the default setting); anything invalid is none."""
    try:
        return parse_cap(value)
    except InvalidCap:
        return None


def default_cap() -> Decimal | None:
    """The user's default cap for chats that set none (read with this request's settings)."""
    return stored_cap(setting_value(DEFAULT_CAP_KEY))


def cap_for(chat_cap: Decimal | None) -> Decimal | None:
    """The cap that holds for a chat whose own cap is ``chat_cap``."""
    return chat_cap if chat_cap is not None else default_cap()


def chat_spend(session_id: uuid.UUID | None) -> Decimal:
    """What the chat has spent: the frozen costs of its messages (every branch), one query;
    0 for a chat not created yet."""
    if session_id is None:
        return Decimal(0)
    value = db.session.scalar(
        select(func.coalesce(func.sum(ChatMessage.cost), 0)).where(
            ChatMessage.session_id == session_id
        )
    )
    return Decimal(str(value or 0))


def turn_tokens(
    model: str,
    system: Sequence[str | None],
    history: Sequence[tuple[str, int]],
    text: str,
    extra_text: str = "",
    extra_tokens: int = 0,
) -> int:
    """The estimated input tokens of a turn: the ``system`` blocks (persona prompt, profile),
    the branch's ``history`` as (role, tokens), the typed ``text`` with ``extra_text`` (what
    joins the message, such as attached files' text), trimmed as the context builder trims
    for ``model``, plus ``extra_tokens`` that are never trimmed (such as images)."""
    turns = [("system", estimate_tokens(block)) for block in system if block]
    turns.extend(history)
    turns.append(("user", estimate_tokens(text + extra_text)))
    return trimmed_tokens(turns, context_budget(model)) + max(0, extra_tokens)


def context_tokens(model: str, context: Sequence[Mapping[str, Any]]) -> int:
    """:func:`turn_tokens` of a context already built (``chat.build_context``): its leading
    system blocks, the turns between, and its last message as the text."""
    if not context:
        return 0
    lead = 0
    while lead < len(context) - 1 and context[lead]["role"] == "system":
        lead += 1
    history = [(str(m["role"]), message_tokens(dict(m))) for m in context[lead:-1]]
    system = [str(m["content"] or "") for m in context[:lead]]
    last = context[-1]
    pictures = message_tokens(dict(last)) - estimate_tokens(str(last["content"] or ""))
    return turn_tokens(model, system, history, str(last["content"] or ""), extra_tokens=pictures)


@dataclass(frozen=True)
class Estimate:
    """A turn's estimated input: tokens, cost (``None``: the price is unknown) and the cap
    that holds with what the chat spent (``cap`` ``None``: no cap)."""

    tokens: int
    price: Price | None
    cap: Decimal | None = None
    spent: Decimal = Decimal(0)

    @property
    def cost(self) -> Decimal | None:
        if self.price is None:
            return None
        return (Decimal(self.tokens) * self.price.input_per_mtok / MILLION).quantize(
            Decimal("0.00000001")
        )

    @property
    def over_cap(self) -> bool:
        """Whether sending would pass the cap (an unknown price counts as free)."""
        return self.cap is not None and self.spent + (self.cost or 0) > self.cap

    def describe(self) -> str:
        """What the composer shows, translated."""
        tokens = format_number(self.tokens)
        if self.price is None:
            return _("Input: price unknown for this model (%(tokens)s tokens)", tokens=tokens)
        if self.price.source == "local":
            return _("Input: free, a local model (%(tokens)s tokens)", tokens=tokens)
        return _(
            "Input: ≈ %(cost)s (%(tokens)s tokens)", cost=format_money(self.cost), tokens=tokens
        )

    def describe_cap(self) -> str:
        """The cap and the chat's spend, translated ("" without a cap)."""
        if self.cap is None:
            return ""
        return _(
            "Chat cap: %(spent)s spent of %(cap)s",
            spent=format_money(self.spent),
            cap=format_money(self.cap),
        )


def refusal(estimate: Estimate) -> str:
    """The translated refusal of a turn that would pass the chat's cap."""
    assert estimate.cap is not None
    return _(
        "Not sent: this message would pass the chat's spending cap of %(cap)s. The chat has "
        "spent %(spent)s and this message's input is estimated at %(cost)s. Raise the cap "
        "under Model parameters, or start a new chat.",
        cap=format_money(estimate.cap),
        spent=format_money(estimate.spent),
        cost=format_money(estimate.cost or Decimal(0)),
    )


def warning(estimate: Estimate) -> str:
    """What the composer says before a send the cap would refuse, translated."""
    assert estimate.cap is not None
    return _(
        "Over the cap: with this message the chat would spend more than %(cap)s (spent so "
        "far: %(spent)s). Sending will be refused; raise the cap under Model parameters.",
        cap=format_money(estimate.cap),
        spent=format_money(estimate.spent),
    )
