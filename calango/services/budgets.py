"""Monthly budgets (issue #11 item 4): what a user spent this month, and the refusal once it
reaches their budget.

The month is the current calendar month in UTC: it starts on the 1st at 00:00 UTC and the
budget resets then, whatever the user's time zone (one rule for every user and every
worker; the refusal says the date). Spend is what was frozen when each call ended:

- the ``cost`` of every answer in the user's chats and A Rinha's conversations (both are
  ``chat_sessions`` owned by the user), counted in the month the answer was asked
  (its ``timestamp``);
- the ``cost`` of the user's provider calls that are not answers (``provider_calls`` rows:
  hatch, chat titles; tests and model lists cost nothing). Answers never have a
  ``provider_calls`` row (their cost is on their message), and ``CallKind.ANSWER_KINDS``
  are left out anyway, so nothing is counted twice.

The budget is the user's own ``monthly_budget_usd``, else the instance's
``default_budget_usd`` setting, else none (unlimited). A budget of 0 blocks every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, g, has_request_context
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy import ScalarSelect, func, select

from calango.extensions import db
from calango.models import CallKind, ChatMessage, ChatSession, ProviderCall
from calango.models.user import User

DEFAULT_BUDGET_KEY = "default_budget_usd"  # instance-wide, set in /admin/settings
ANSWER_KINDS = (CallKind.CHAT, CallKind.ARENA)  # kept on their message, never twice
UNSET: Any = object()


class BudgetExceeded(Exception):
    """The user's monthly budget is used up; ``message`` is translated and safe to show."""

    status = 402

    def __init__(self, message: str, budget: Decimal, spent: Decimal, resets: date) -> None:
        super().__init__(message)
        self.message = message
        self.budget = budget
        self.spent = spent
        self.resets = resets


def month_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of ``now``'s calendar month in UTC."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(
        month=start.month + 1
    )  # fmt: skip
    return start, end


def spend_expression(user_id: int, now: datetime | None = None) -> ScalarSelect[Any]:
    """The user's spend this month as one scalar SQL expression (two sums added)."""
    start, end = month_bounds(now)
    answers = (
        select(func.coalesce(func.sum(ChatMessage.cost), 0))
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .where(
            ChatSession.owner_id == user_id,
            ChatMessage.role == "assistant",
            ChatMessage.timestamp >= start,
            ChatMessage.timestamp < end,
        )
        .scalar_subquery()
    )
    calls = (
        select(func.coalesce(func.sum(ProviderCall.cost), 0))
        .where(
            ProviderCall.owner_id == user_id,
            ProviderCall.kind.not_in(ANSWER_KINDS),
            ProviderCall.timestamp >= start,
            ProviderCall.timestamp < end,
        )
        .scalar_subquery()
    )
    return select(answers + calls).scalar_subquery()


def month_spend(user_id: int, now: datetime | None = None) -> Decimal:
    """What ``user_id`` spent in ``now``'s calendar month (UTC), in USD: one query."""
    value = db.session.scalar(select(spend_expression(user_id, now)))
    return _decimal(value) or Decimal(0)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def default_budget(raw: Any = UNSET) -> Decimal | None:
    """The instance's default monthly budget (``raw``: the setting's value when the caller
    read it already); None when unset or not a number."""
    if raw is UNSET:
        from calango.services.preferences import setting_value

        raw = setting_value(DEFAULT_BUDGET_KEY)
    return _decimal(raw)


def budget_for(user: User, default: Any = UNSET) -> Decimal | None:
    """The user's monthly budget: their own, else the instance default, else None
    (unlimited). ``default``: the setting's raw value when already read."""
    own = _decimal(user.monthly_budget_usd)
    return own if own is not None else default_budget(default)


def money(amount: Decimal) -> str:
    """US$ with two decimals in the user's locale ("US$ 20.00", "US$ 20,00")."""
    return _("US$ %(amount)s", amount=format_decimal(amount, format="#,##0.00"))


def refusal(budget: Decimal, spent: Decimal, now: datetime | None = None) -> BudgetExceeded:
    """The refusal for a used-up budget, naming it and the day it resets."""
    resets = month_bounds(now)[1].date()
    # TRANSLATORS: a CLDR date pattern: "1 January 2027"; quote literal words ('de').
    pattern = _("d MMMM y")
    message = _(
        "You have reached your monthly budget of %(budget)s; it resets on %(day)s.",
        budget=money(budget),
        day=format_date(resets, pattern),
    )
    return BudgetExceeded(message, budget, spent, resets)


def check_budget(user_id: int, default: Any = UNSET, now: datetime | None = None) -> Decimal | None:
    """Raise :class:`BudgetExceeded` when the user's spend this month reached their budget;
    call it before a provider is called. Returns the budget (None: unlimited, and no query
    is made). ``default``: the default-budget setting's raw value when the caller read it.

    Budgets are a SERVER feature (set by admins); DESKTOP's one person has none."""
    from calango.accounts import is_server

    if not is_server():
        return None
    user = db.session.get(User, user_id)  # the signed-in user: already in the session
    if user is None:
        return None
    budget = budget_for(user, default)
    if budget is None:
        return None
    spent = month_spend(user_id, now)
    if spent >= budget:
        raise refusal(budget, spent, now)
    return budget


def within_budget(user_id: int) -> bool:
    """Whether ``user_id`` may still spend (background calls that skip silently: titles)."""
    try:
        check_budget(user_id)
    except BudgetExceeded:
        return False
    return True


@dataclass(frozen=True)
class SpendLine:
    """The header's figures: this month's spend and the budget (None: unlimited)."""

    spent: Decimal
    budget: Decimal | None

    def __str__(self) -> str:
        if self.budget is None:
            return _("This month: %(spent)s", spent=money(self.spent))
        return _(
            "This month: %(spent)s of %(budget)s",
            spent=money(self.spent),
            budget=money(self.budget),
        )


def spend_line() -> SpendLine | None:
    """The signed-in user's line for the header, computed at most once per request."""
    if not has_request_context():
        return None
    if "calango_spend_line" in g:
        return g.calango_spend_line
    from flask_login import current_user

    line = None
    if current_user.is_authenticated:
        user_id = int(current_user.id)
        line = SpendLine(month_spend(user_id), budget_for(current_user))
    g.calango_spend_line = line
    return line


def init_budgets(app: Flask) -> None:
    """SERVER only: the header's spend line (``templates/_spend.html`` calls it lazily, so a
    page without the header pays nothing). DESKTOP shows no line: one person, no budget to
    set; A Cuca shows what was spent."""
    from calango.accounts import is_server

    if not is_server(app):
        return

    @app.context_processor
    def _spend() -> dict[str, Any]:
        return {"spend_line": spend_line}
