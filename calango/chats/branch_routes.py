"""Versions of a conversation: regenerate, retry, edit and resend, switch version, delete a
message. Plain forms with post/redirect/get; static/js/branches.js only keeps the page from
waiting for a whole answer (it then streams on the chat page, as after a reload)."""

from __future__ import annotations

import uuid

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from calango.chats import bp
from calango.chats.forms import MessageForm
from calango.chats.history_routes import sidebar as _sidebar
from calango.chats.routes import _chat_or_404
from calango.forms import ConfirmForm
from calango.services import branch_actions, branches, composer
from calango.services.chat import ChatInputError


def _to_chat(chat_id: uuid.UUID, message_id: int | None = None) -> BaseResponse:
    anchor = f"m-{message_id}" if message_id else None
    return redirect(url_for("chats.show", chat_id=chat_id, _anchor=anchor), code=303)


def _started(chat_id: uuid.UUID, started: branch_actions.Started) -> BaseResponse:
    """Without the script, wait for the answer (as a send does); with it (``follow``), go
    to the chat at once: its page follows the answer as it is written."""
    thread = started.generation.thread
    if thread is not None and not request.form.get("follow"):
        thread.join(current_app.config["PROVIDER_READ_TIMEOUT"] + 5)
    return _to_chat(chat_id, started.assistant_message.id)


def _refused(chat_id: uuid.UUID, message_id: int, exc: ChatInputError) -> BaseResponse:
    flash(exc.message, "error")
    return _to_chat(chat_id, message_id)


@bp.post("/<uuid:chat_id>/messages/<int:message_id>/regenerate")
def regenerate(chat_id: uuid.UUID, message_id: int) -> BaseResponse:
    """A new version of an answer with the provider, model and persona of the composer (its
    buttons post the composer's form here)."""
    chat = _chat_or_404(chat_id)
    form = MessageForm()
    try:
        started = branch_actions.regenerate(
            chat, message_id, form.provider.data or "", form.model.data or "",
            form.persona.data or "",
        )  # fmt: skip
    except ChatInputError as exc:
        return _refused(chat_id, message_id, exc)
    return _started(chat_id, started)


@bp.post("/<uuid:chat_id>/messages/<int:message_id>/retry")
def retry(chat_id: uuid.UUID, message_id: int) -> BaseResponse:
    """Ask again, with the same model, for an answer that failed."""
    ConfirmForm()  # CSRF is checked globally; the form documents what is posted
    chat = _chat_or_404(chat_id)
    try:
        started = branch_actions.retry(chat, message_id)
    except ChatInputError as exc:
        return _refused(chat_id, message_id, exc)
    return _started(chat_id, started)


@bp.post("/<uuid:chat_id>/messages/<int:message_id>/show")
def show_version(chat_id: uuid.UUID, message_id: int) -> BaseResponse:
    """Show (and continue from) the version ``message_id`` ("‹ 2/3 ›")."""
    ConfirmForm()
    chat = _chat_or_404(chat_id)
    if not branches.show_version(chat, message_id):
        flash(_("This message does not exist or was deleted."), "error")
    return _to_chat(chat_id, message_id)


@bp.route("/<uuid:chat_id>/messages/<int:message_id>/edit", methods=["GET", "POST"])
def edit(chat_id: uuid.UUID, message_id: int) -> BaseResponse | tuple[str, int]:
    """Edit a question and send it again as a new version."""
    chat = _chat_or_404(chat_id)
    try:
        question = branch_actions.editable(chat, message_id)
    except ChatInputError as exc:
        return _refused(chat_id, message_id, exc)
    form = MessageForm()
    error = None
    if form.is_submitted():
        try:
            started = branch_actions.edit_and_resend(
                chat, message_id, form.content.data or "", form.provider.data or "",
                form.model.data or "", form.persona.data or "",
            )  # fmt: skip
        except ChatInputError as exc:
            error = exc
        else:
            return _started(chat_id, started)
    else:
        form.content.data = question.content
    options = composer.composer_options()
    form.offer(options, composer.composer_choice(chat, options))
    page = render_template(
        "chats/edit.html", chat=chat, form=form, error=error, question=question,
        sidebar=_sidebar(),
    )  # fmt: skip
    return page, error.status if error else 200


@bp.route("/<uuid:chat_id>/messages/<int:message_id>/delete", methods=["GET", "POST"])
def delete_message(chat_id: uuid.UUID, message_id: int) -> BaseResponse | str:
    """Delete a message and what follows it, after a confirmation page."""
    chat = _chat_or_404(chat_id)
    try:
        message, count = branch_actions.deletion_count(chat, message_id)
    except ChatInputError as exc:
        return _refused(chat_id, message_id, exc)
    form = ConfirmForm()
    if form.validate_on_submit():
        gone = branch_actions.delete_message(chat, message_id)
        flash(ngettext("Deleted %(num)d message.", "Deleted %(num)d messages.", gone), "success")
        return _to_chat(chat_id, chat.leaf_id)
    return render_template(
        "chats/delete_message.html", form=form, chat=chat, message=message, count=count,
        sidebar=_sidebar(),
    )  # fmt: skip
