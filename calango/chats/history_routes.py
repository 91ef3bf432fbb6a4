"""Search across every chat, and pinning chats to the top of the sidebar."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from calango.chats import bp
from calango.chats.forms import SearchForm
from calango.forms import ConfirmForm
from calango.ownership import owned_chat_or_404
from calango.services import history
from calango.services import search as search_service


def sidebar() -> history.SidebarPage:
    """The sidebar's page of chats for this request (``?older=<cursor>``)."""
    return history.sidebar_page(request.args.get("older", type=str))


@bp.get("/search")
def search() -> str:
    """Ranked results for ``q`` with filters; every bad value is dropped and explained."""
    form = SearchForm(formdata=request.args)
    personas, models = search_service.filter_choices()
    form.offer(personas, models)
    form.validate()
    for name in ("persona", "model", "start", "end", "page"):
        if getattr(form, name).errors:
            getattr(form, name).data = None
    start, end = form.start.data, form.end.data
    if start and end and end < start:
        form.end.errors = [_("The end date is before the start date; it was ignored.")]
        end = None
    results = search_service.search(
        form.q.data or "",
        persona=form.persona.data,
        model=form.model.data,
        start=start,
        end=end,
        page=form.page.data or 1,
    )
    return render_template(
        "chats/search.html", form=form, results=results, sidebar=sidebar(), chat=None
    )


@bp.post("/<uuid:chat_id>/pin")
def pin(chat_id: uuid.UUID) -> BaseResponse:
    """Pin a chat to the top of the sidebar (POST form with CSRF), then go back."""
    return _set_pinned(chat_id, True)


@bp.post("/<uuid:chat_id>/unpin")
def unpin(chat_id: uuid.UUID) -> BaseResponse:
    """Unpin a chat, then go back."""
    return _set_pinned(chat_id, False)


def _set_pinned(chat_id: uuid.UUID, pinned: bool) -> BaseResponse:
    ConfirmForm()  # CSRF is checked globally; the form documents what is posted
    chat = owned_chat_or_404(chat_id)
    history.set_pinned(chat, pinned)
    title = chat.title or _("Untitled chat")
    if pinned:
        flash(_("Pinned “%(title)s” to the top.", title=title), "success")
    else:
        flash(_("Unpinned “%(title)s”.", title=title), "success")
    target = request.form.get("next", "")
    # Only a local path: never an open redirect.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("chats.show", chat_id=chat_id)
    return redirect(target, code=303)
