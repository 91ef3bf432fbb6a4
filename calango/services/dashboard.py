"""The dashboard's use cases: turn the chosen filters into a period and read its figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from calango.accounts import current_user_id
from calango.extensions import db
from calango.models import Provider
from calango.services import call_rollup, call_stats
from calango.services.call_query import CallFilter
from calango.services.call_stats import Fact, Speed, Totals
from calango.services.local_time import PERIODS, Period, resolve_period, user_zone
from calango.services.personas import visible_personas


@dataclass(frozen=True)
class DashboardFilters:
    """What the user chose (already validated by the form)."""

    period: str = "30d"
    first: date | None = None
    last: date | None = None
    provider: str | None = None
    model: str | None = None
    persona: str | None = None
    kind: str | None = None
    owner_id: int | None = None  # whose calls; the routes pass the current user

    def resolve(self) -> tuple[Period, CallFilter]:
        """The local period and the filter over UTC instants it stands for."""
        name = self.period if self.period in PERIODS else "30d"
        if name == "custom" and not (self.first and self.last):
            name = "30d"
        period = resolve_period(name, user_zone(), self.first, self.last)
        return period, CallFilter(
            period.start,
            period.end,
            self.provider,
            self.model,
            self.persona,
            self.kind,
            self.owner_id,
        )


@dataclass
class Overview:
    """Everything the dashboard page shows for one set of filters."""

    period: Period
    previous: Period | None
    totals: Totals
    previous_totals: Totals | None
    facts: list[Fact] = field(default_factory=list)
    speeds: list[Speed] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.totals.calls == 0


def overview(filters: DashboardFilters) -> Overview:
    """Totals (and the previous period's), grouped facts and speeds for ``filters``."""
    call_rollup.ensure_fresh()
    period, current = filters.resolve()
    previous = period.previous()
    previous_filter = current.with_range(previous.start, previous.end) if previous else None
    totals, previous_totals = call_stats.totals(current, previous_filter)
    if totals.calls == 0:
        return Overview(period, previous, totals, previous_totals)
    return Overview(
        period,
        previous,
        totals,
        previous_totals,
        call_stats.facts(current, period),
        call_stats.speeds(current),
    )


def filter_options(facts: list[Fact], user_id: int | None = None) -> dict[str, list[str]]:
    """Choices for the filters: configured providers, their models and the personas, plus
    whatever the period's calls used (a deleted provider still shows up)."""
    providers: dict[str, None] = {}
    models: dict[str, None] = {}
    for p in db.session.scalars(select(Provider)):
        providers[p.name] = None
        models.update(dict.fromkeys(p.models or []))
    for fact in facts:
        if fact.provider:
            providers.setdefault(fact.provider, None)
        if fact.model:
            models.setdefault(fact.model, None)
    viewer = user_id if user_id is not None else current_user_id()
    personas = sorted({p.name for p in visible_personas(viewer)}, key=str.lower)
    return {
        "provider": sorted(providers, key=str.lower),
        "model": sorted(models, key=str.lower),
        "persona": personas,
    }
