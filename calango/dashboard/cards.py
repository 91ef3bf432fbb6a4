"""The totals at the top of the dashboard, each with its change against the previous period."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import format_percent, ngettext
from flask_babel import gettext as _

from calango.i18n import format_money, format_number
from calango.services.dashboard import Overview


@dataclass
class Card:
    """One total: its name, its value, and how it moved (``None`` when it cannot be said)."""

    label: str
    value: str
    change: str | None = None
    direction: str = "flat"  # "up", "down" or "flat"
    detail: str | None = None

    @property
    def value_size(self) -> str:
        """ "long" or "longer" for a value set smaller ("US$ 0,002100", a long model name),
        so that it stays on one line of its card instead of breaking inside the number."""
        if len(self.value) > 14:
            return "longer"
        return "long" if len(self.value) > 9 else ""


def _change(
    current: float | Decimal | None, previous: float | Decimal | None
) -> tuple[str | None, str]:
    if current is None or previous is None or previous == 0:
        return None, "flat"
    ratio = (float(current) - float(previous)) / float(previous)
    direction = "up" if ratio > 0 else "down" if ratio < 0 else "flat"
    return format_percent(ratio, "+#,##0%;-#,##0%"), direction


def _points(current: float | None, previous: float | None) -> tuple[str | None, str]:
    if current is None or previous is None:
        return None, "flat"
    delta = (current - previous) * 100
    direction = "up" if delta > 0 else "down" if delta < 0 else "flat"
    sign = "+" if delta >= 0 else "−"
    return _(
        "%(sign)s%(points)s pp", sign=sign, points=format_number(round(abs(delta), 1))
    ), direction


def busiest_model(view: Overview) -> tuple[str, int] | None:
    """The model with the most calls in the period, and that count."""
    counts: Counter[str] = Counter()
    for fact in view.facts:
        if fact.model:
            counts[fact.model] += fact.calls
    return counts.most_common(1)[0] if counts else None


def build_cards(view: Overview) -> list[Card]:
    """The period's totals with their change, in reading order."""
    now, before = view.totals, view.previous_totals
    b = before  # shorter below

    def change(attr: str) -> tuple[str | None, str]:
        return _change(getattr(now, attr), getattr(b, attr) if b else None)

    ttft = now.ttft_median
    rate = now.error_rate
    cards = [
        Card(_("Cost"), format_money(now.cost), *change("cost")),
        Card(_("Tokens in"), format_number(now.prompt_tokens), *change("prompt_tokens")),
        Card(_("Tokens out"), format_number(now.completion_tokens), *change("completion_tokens")),
        Card(_("Calls"), format_number(now.calls), *change("calls")),
        Card(
            _("Error rate"),
            format_percent(rate, "#,##0.0%") if rate is not None else "—",
            *_points(rate, b.error_rate if b else None),
        ),
        Card(
            _("Median time to first token"),
            _("%(ms)s ms", ms=format_number(round(ttft))) if ttft is not None else "—",
            *change("ttft_median"),
        ),
    ]
    busiest = busiest_model(view)
    if busiest:
        model, count = busiest
        calls = ngettext("%(n)s call", "%(n)s calls", count, n=format_number(count))
        cards.append(Card(_("Busiest model"), model, detail=calls))
    return cards
