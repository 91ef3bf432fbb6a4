"""Chart and table specifications for the dashboard, built from the grouped rows.

One spec feeds both the canvas (through a JSON block read by static/js/dashboard.js) and its
table equivalent (rendered by the template), so they always show the same numbers. Every
number and date is formatted here through Babel; the script only draws.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_skeleton
from flask_babel import format_percent, get_locale
from flask_babel import gettext as _

from calango.i18n import format_money, format_number
from calango.models import MessageStatus
from calango.services.call_histogram import BUCKET_ERROR
from calango.services.call_stats import Fact, Speed
from calango.services.dashboard import Overview
from calango.services.local_time import bucket_labels

MAX_SERIES = 7  # more models than this are summed as "Other models"


@dataclass
class Chart:
    """One chart: labels along an axis, one or more series, and how to read the values."""

    id: str
    title: str
    kind: str  # "bar" (vertical, stacked when ``stacked``) or "hbar" (horizontal)
    axis: str  # header of the label column in the table
    labels: list[str]
    series: list[dict[str, Any]] = field(default_factory=list)
    stacked: bool = False
    unit: str = "number"
    note: str | None = None  # how to read the figures, under the chart

    def add(self, label: str, values: list[float | None], shown: list[str]) -> None:
        self.series.append({"label": label, "data": values, "shown": shown})

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "labels": self.labels,
            "series": self.series,
            "stacked": self.stacked,
            "unit": self.unit,
        }

    @property
    def rows(self) -> list[list[str]]:
        """The table equivalent: one row per label, one cell per series."""
        return [
            [label, *(s["shown"][i] for s in self.series)] for i, label in enumerate(self.labels)
        ]


def error_labels() -> dict[str, str]:
    return {
        "auth": _("API key refused"),
        "rate_limit": _("Rate limited"),
        "not_found": _("Model or address not found"),
        "bad_request": _("Request rejected"),
        "server": _("Provider error (5xx)"),
        "timeout": _("Timed out"),
        "connection": _("Connection lost"),
        "key_unreadable": _("Stored key unreadable"),
        "provider": _("Other provider error"),
        "unexpected": _("Unexpected error"),
        "unknown": _("Unknown (recorded before classes)"),
        "config": _("Not sent: provider not set up"),
    }


def status_labels() -> dict[str, str]:
    return {
        MessageStatus.COMPLETE: _("Complete"),
        MessageStatus.ERROR: _("Error"),
        MessageStatus.STOPPED: _("Stopped"),
        MessageStatus.INTERRUPTED: _("Interrupted"),
        MessageStatus.STREAMING: _("Streaming"),
    }


def _bucket_text(key: str, monthly: bool) -> str:
    locale = get_locale()
    if monthly:
        year, month = key.split("-")
        return format_skeleton("yMMM", date(int(year), int(month), 1), locale=locale)
    return format_skeleton("MMMd", date.fromisoformat(key), locale=locale)


def _ms(value: float | None) -> str:
    return _("%(ms)s ms", ms=format_number(round(value))) if value is not None else "—"


def build_charts(view: Overview) -> list[Chart]:
    """The dashboard's charts for ``view`` (none for an empty period)."""
    if view.empty:
        return []
    period = view.period
    keys = sorted({f.bucket for f in view.facts})
    if period.first and period.last:
        keys = bucket_labels(period.first, period.last, period.monthly)
    labels = [_bucket_text(k, period.monthly) for k in keys]
    position = {k: i for i, k in enumerate(keys)}
    return [
        _cost_by_day(view.facts, keys, labels, position, period.monthly),
        _cost_by_provider(view.facts),
        _tokens_by_day(view.facts, keys, labels, position, period.monthly),
        *_speed_charts(view.speeds),
        _errors(view.facts),
    ]


def _cost_by_day(
    facts: list[Fact], keys: list[str], labels: list[str], position: dict[str, int], monthly: bool
) -> Chart:
    axis = _("Month") if monthly else _("Day")
    per_model: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(keys))
    no_model = _("(no model)")  # translated once, not per fact
    for fact in facts:
        # Calls that cost nothing would add nothing (and no series: see below).
        if fact.cost and fact.bucket in position:
            per_model[fact.model or no_model][position[fact.bucket]] += fact.cost
    # Series that cost nothing (local models, calls that are not answers) add no bar.
    ranked = sorted((m for m in per_model if sum(per_model[m])), key=lambda m: -sum(per_model[m]))
    shown, rest = ranked[:MAX_SERIES], ranked[MAX_SERIES:]
    title = _("Cost per month by model") if monthly else _("Cost per day by model")
    chart = Chart("cost-by-day", title, "bar", axis, labels, stacked=True, unit="money")
    series = [(m, per_model[m]) for m in shown]
    if rest:
        other = [sum((per_model[m][i] for m in rest), Decimal(0)) for i in range(len(keys))]
        series.append((_("Other models"), other))
    for name, values in series:
        chart.add(name, [float(v) for v in values], [format_money(v) for v in values])
    return chart


def _cost_by_provider(facts: list[Fact]) -> Chart:
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for fact in facts:
        cost[fact.provider or "—"] += fact.cost
    names = sorted(cost, key=lambda p: -cost[p])
    chart = Chart("cost-by-provider", _("Cost by provider"), "hbar", _("Provider"), names,
                  unit="money")  # fmt: skip
    values = [cost[n] for n in names]
    chart.add(_("Cost"), [float(v) for v in values], [format_money(v) for v in values])
    return chart


def _tokens_by_day(
    facts: list[Fact], keys: list[str], labels: list[str], position: dict[str, int], monthly: bool
) -> Chart:
    axis = _("Month") if monthly else _("Day")
    prompt = [0] * len(keys)
    completion = [0] * len(keys)
    for fact in facts:
        if fact.bucket in position:
            prompt[position[fact.bucket]] += fact.prompt_tokens
            completion[position[fact.bucket]] += fact.completion_tokens
    title = _("Tokens per month") if monthly else _("Tokens per day")
    chart = Chart("tokens-by-day", title, "bar", axis, labels, stacked=True)
    chart.add(_("Tokens in"), [float(v) for v in prompt], [format_number(v) for v in prompt])
    chart.add(_("Tokens out"), [float(v) for v in completion],
              [format_number(v) for v in completion])  # fmt: skip
    return chart


def _speed_charts(speeds: list[Speed]) -> list[Chart]:
    timed = [s for s in speeds if s.model and s.ttft_median is not None]
    names = [f"{s.model} ({s.provider})" for s in timed]
    latency = Chart("ttft", _("Time to first token by model"), "hbar", _("Model"), names,
                    unit="ms")  # fmt: skip
    latency.add(_("Median"), [s.ttft_median for s in timed], [_ms(s.ttft_median) for s in timed])
    latency.add(_("95th percentile"), [s.ttft_p95 for s in timed], [_ms(s.ttft_p95) for s in timed])
    fast = sorted(
        (s for s in speeds if s.model and s.tps_median), key=lambda s: -(s.tps_median or 0)
    )
    throughput = Chart("throughput", _("Output tokens per second by model"), "hbar", _("Model"),
                       [f"{s.model} ({s.provider})" for s in fast])  # fmt: skip
    throughput.add(
        _("Median tokens/s"),
        [s.tps_median for s in fast],
        [format_number(round(s.tps_median or 0, 1)) for s in fast],
    )
    # Percentiles come from the rollup's histograms (services.call_histogram).
    latency.note = throughput.note = _(
        "Estimated from histograms: within %(bound)s of the exact value.",
        bound=format_percent(BUCKET_ERROR, "#,##0.#%"),
    )
    return [latency, throughput]


def _errors(facts: list[Fact]) -> Chart:
    counts: dict[str, int] = defaultdict(int)
    for fact in facts:
        if fact.status == MessageStatus.ERROR:
            counts[fact.error_class or "unknown"] += fact.calls
    names = error_labels()
    classes = sorted(counts, key=lambda c: -counts[c])
    chart = Chart("errors", _("Errors by class"), "hbar", _("Error"),
                  [names.get(c, c) for c in classes])  # fmt: skip
    chart.add(_("Calls"), [float(counts[c]) for c in classes],
              [format_number(counts[c]) for c in classes])  # fmt: skip
    return chart
