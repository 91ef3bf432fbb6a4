"""Dashboard pages: the overview with its charts, the log of calls, and its CSV."""

from __future__ import annotations

from flask import render_template, request, stream_with_context
from werkzeug.wrappers import Response

from calango.accounts import current_user_id
from calango.dashboard import bp
from calango.dashboard.cards import build_cards
from calango.dashboard.charts import build_charts, error_labels, status_labels
from calango.dashboard.forms import FilterForm, kind_labels
from calango.services import call_log_view
from calango.services import dashboard as service
from calango.services.local_time import user_zone


def _filters() -> tuple[FilterForm, service.DashboardFilters]:
    """The form bound to the query string, and the filters it stands for. Invalid values
    are shown as errors on the form and ignored: the page then shows the defaults."""
    form = FilterForm(formdata=request.args, meta={"csrf": False})
    valid = form.validate() if request.args else True
    owner_id = current_user_id()
    if not valid:
        return form, service.DashboardFilters(owner_id=owner_id)
    return form, service.DashboardFilters(
        period=form.period.data or "30d",
        first=form.start.data,
        last=form.end.data,
        provider=form.provider.data or None,
        model=form.model.data or None,
        persona=form.persona.data or None,
        kind=form.kind.data or None,
        owner_id=owner_id,
    )


def _query() -> dict[str, str]:
    """The filters in the query string, for links that keep them (tabs, pages)."""
    return {k: v for k, v in request.args.items() if k != "before" and len(v) <= 200}


@bp.context_processor
def _dashboard_links() -> dict[str, object]:
    return {"dashboard_query": _query}


@bp.get("/")
def index() -> str:
    form, filters = _filters()
    view = service.overview(filters)
    form.offer(service.filter_options(view.facts))
    charts = build_charts(view)
    return render_template(
        "dashboard/index.html",
        form=form,
        view=view,
        cards=build_cards(view),
        charts=charts,
        chart_data=[c.as_json() for c in charts],
    )


@bp.get("/log")
def log() -> str:
    form, filters = _filters()
    form.offer(service.filter_options([]))
    _period, call_filter = filters.resolve()
    cursor = call_log_view.Cursor.decode(request.args.get("before"))
    page = call_log_view.log_page(call_filter, cursor)
    return render_template(
        "dashboard/log.html",
        form=form,
        page=page,
        first_page=cursor is None,
        kinds=kind_labels(),
        statuses=status_labels(),
        errors=error_labels(),
    )


@bp.get("/calls.csv")
def calls_csv() -> Response:
    _form, filters = _filters()
    _period, call_filter = filters.resolve()
    lines = call_log_view.csv_lines(call_filter, user_zone())
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="calango-calls.csv"'},
    )
