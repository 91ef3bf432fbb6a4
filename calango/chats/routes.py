"""Chat pages: the conversation, sending, following an answer as it streams, Stop, rename,
delete. Every form works without JavaScript; the script in static/js/chat.js only makes it
nicer (send without reload, live tokens)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from calango.chats import bp, composer_extras
from calango.chats.forms import MessageForm, RenameForm
from calango.chats.history_routes import sidebar as _sidebar
from calango.extensions import db
from calango.forms import ConfirmForm, confirm_then_delete
from calango.models import ChatMessage, ChatSession, MessageStatus, SessionKind
from calango.ownership import followed_message_or_404, owned_chat_or_404, owned_message_or_404
from calango.services import chat as chat_service
from calango.services import composer, estimates, history, spend_cap
from calango.services.first_run import first_run_offers
from calango.services.generation import request_stop
from calango.services.imports.legacy import legacy_offer
from calango.services.message_html import store_missing_html
from calango.services.streams import Delta, Done, Keepalive, finished_message, follow_answer


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _chat_or_404(chat_id: uuid.UUID) -> ChatSession:
    chat = owned_chat_or_404(chat_id)  # another user's chat: 404
    if chat.kind != SessionKind.CHAT:  # a contender's conversation in A Rinha
        abort(404, description=_("This chat does not exist or was deleted."))
    return chat


def _message_or_404(chat_id: uuid.UUID, message_id: int) -> ChatMessage:
    return owned_message_or_404(message_id, chat_id)


def render_chat(
    chat: ChatSession | None,
    form: MessageForm | None = None,
    error: chat_service.ChatInputError | None = None,
    status: int = 200,
    window: history.MessageWindow | None = None,
) -> tuple[str, int]:
    """The chat page: sidebar, conversation and composer (also used by ``/``)."""
    options = composer.composer_options()
    form = form or MessageForm(formdata=None)
    choice = composer.composer_choice(chat, options)
    form.offer(options, choice)
    extras = composer_extras.prefill(form, chat, options, request.args.get("persona", type=int))
    window = window or history.message_window(chat)
    messages = window.messages
    page = render_template(
        "chats/chat.html",
        chat=chat,
        messages=messages,
        window=window,
        form=form,
        error=error,
        options=options,
        missing_persona=choice.missing_persona,
        sidebar=_sidebar(),
        has_providers=options.any_configured,
        offers=[] if options.any_configured else first_run_offers(),
        providers_url=url_for(chat_service.provider_link()[0]),
        streaming=any(m.status == MessageStatus.STREAMING for m in messages),
        legacy_offer=legacy_offer() if chat is None else None,
        extras=extras,
    )
    return page, status


@bp.get("/")
def index() -> tuple[str, int]:
    return render_chat(None)


@bp.get("/<uuid:chat_id>")
def show(chat_id: uuid.UUID) -> tuple[str, int] | tuple[Response, int]:
    """The latest messages; ``?before=<id>`` the ones just before a message (the script asks
    for JSON: the bubbles and the next ``before``); ``?at=<id>`` a message and its
    neighbours (search results link there)."""
    chat = _chat_or_404(chat_id)
    window = history.message_window(
        chat,
        before=request.args.get("before", type=int),
        at=request.args.get("at", type=int),
    )
    # Older and imported rows: rendered once here, then stored (this request has nothing
    # else to commit; the send path's error page renders without storing).
    store_missing_html(window.messages)
    if _wants_json():
        html = render_template("chats/_exchange.html", messages=window.messages, window=window)
        return jsonify(html=html, earlier=window.earlier), 200
    return render_chat(chat, window=window)


@bp.post("/messages", defaults={"chat_id": None})
@bp.post("/<uuid:chat_id>/messages")
def send(chat_id: uuid.UUID | None) -> BaseResponse | tuple[str, int] | tuple[Response, int]:
    """Send a message. With the script: JSON with the new bubbles. Without: redirect at once
    to the chat (post/redirect/get), whose answer refreshes itself until it is done."""
    posted = request.form  # the composer's fields by name (MessageForm only renders them)
    try:
        result = chat_service.send_message(
            chat_id,
            composer_extras.message_text(posted),
            posted.get("provider") or "",
            posted.get("model") or "",
            posted.get("persona") or "",
            composer_extras.send_options(posted),
            composer_extras.uploads(request.files),
        )
    except chat_service.ChatInputError as exc:
        if _wants_json():
            link = {"url": url_for(exc.link[0]), "label": exc.link[1]} if exc.link else None
            return jsonify(error=exc.message, link=link), exc.status
        chat = _chat_or_404(chat_id) if chat_id is not None else None
        return render_chat(chat, MessageForm(), error=exc, status=exc.status)

    chat_url = url_for("chats.show", chat_id=result.chat.id)
    if _wants_json():
        new_chat = {}
        if chat_id is None:
            # The page becomes the chat's: its header with the actions, and the first page of
            # the sidebar with the chat in it (its time, pin, rename, delete), as a reload would;
            # the script fetches the sidebar afterwards (it is not needed to start the answer).
            new_chat = {
                "head_html": render_template("chats/_chat_head.html", chat=result.chat),
                "sidebar_url": url_for("chats.sidebar_fragment", chat_id=result.chat.id),
            }
        return jsonify(
            chat_url=chat_url,
            chat_id=str(result.chat.id),
            title=result.chat.title,
            new_chat=chat_id is None,
            html=render_template(
                "chats/_exchange.html",
                messages=[result.user_message, result.assistant_message],
            ),
            **new_chat,
        ), 201
    return redirect(f"{chat_url}#m-{result.assistant_message.id}", code=303)


@bp.post("/estimate", defaults={"chat_id": None})
@bp.post("/<uuid:chat_id>/estimate")
def estimate(chat_id: uuid.UUID | None) -> tuple[Response, int]:
    """The composer's estimate of this turn (JSON, for the script). A POST with the
    composer's form and its CSRF token, not a GET: the typed text can be longer than an
    address may be (gunicorn refuses request lines over 4 KB), and it must not end up in
    access logs or the browser's history. Nothing is written."""
    chat = _chat_or_404(chat_id) if chat_id is not None else None
    posted = request.form  # the composer's fields, as the send reads them
    found = estimates.estimate_turn(
        chat,
        (posted.get("content") or "")[: current_app.config["MAX_MESSAGE_CHARS"]],
        posted.get("provider") or "",
        posted.get("model") or "",
        posted.get("persona") or "",
        composer_extras.send_options(posted),
        extra_tokens=estimates.pending_tokens(*composer_extras.pending_files(posted)),
    )
    if found is None:
        return jsonify(text="", cap_text="", over_cap=False), 200
    return jsonify(
        tokens=found.tokens,
        cost=str(found.cost) if found.cost is not None else None,
        price_known=found.price is not None,
        text=found.describe(),
        cap_text=found.describe_cap(),
        over_cap=found.over_cap,
        warning=spend_cap.warning(found) if found.over_cap else "",
    ), 200


@bp.get("/<uuid:chat_id>/sidebar")
def sidebar_fragment(chat_id: uuid.UUID) -> str:
    """The sidebar's first page with this chat current (the script shows it after a send that
    started a chat)."""
    chat = _chat_or_404(chat_id)
    return render_template("chats/_sidebar.html", sidebar=history.sidebar_page(None), chat=chat)


@bp.get("/<uuid:chat_id>/messages/<int:message_id>/stream")
def stream(chat_id: uuid.UUID, message_id: int) -> Response:
    """Server-Sent Events: the answer's text from the client's offset on, then ``done`` with
    the finished message. Never starts a generation (EventSource reconnects with GET)."""
    # One statement: the message, its persona's avatar and the viewer's settings, all that
    # the ``done`` event's bubble needs when the producer ran in this process.
    message = followed_message_or_404(message_id, chat_id)
    offset = request.headers.get("Last-Event-ID", type=int)
    if offset is None:
        offset = request.args.get("offset", 0, type=int)
    offset = min(max(offset or 0, 0), 2**62)  # an offset into text, never beyond any text
    db.session.close()  # ``message`` stays loaded, detached: the final render reuses it

    def events() -> Iterator[str]:
        yield "retry: 1500\n\n"
        for event in follow_answer(message_id, offset):
            if isinstance(event, Delta):
                yield f"id: {event.offset}\ndata: {json.dumps({'text': event.text})}\n\n"
            elif isinstance(event, Keepalive):
                yield ": keepalive\n\n"
            elif isinstance(event, Done):
                yield f"event: done\ndata: {json.dumps(_done_payload(message, event))}\n\n"
                return

    return Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _done_payload(message: ChatMessage, done: Done) -> dict[str, object]:
    """The ``done`` event: the final status and the finished message's bubble, rendered once
    from the values the producer saved (or, when it ran elsewhere, from the row)."""
    final = finished_message(message, done)
    html = render_template("chats/_exchange.html", messages=[final]) if final else ""
    db.session.close()
    return {"status": final.status if final else None, "html": html}


@bp.post("/<uuid:chat_id>/messages/<int:message_id>/stop")
def stop(chat_id: uuid.UUID, message_id: int) -> BaseResponse | tuple[Response, int]:
    ConfirmForm()  # CSRF is checked globally; the form documents what is posted
    _message_or_404(chat_id, message_id)
    stopped = request_stop(message_id)
    if _wants_json():
        return jsonify(stopped=stopped), 200
    if not stopped:
        flash(_("The answer had already finished."), "info")
    return redirect(url_for("chats.show", chat_id=chat_id, _anchor=f"m-{message_id}"), code=303)


@bp.route("/<uuid:chat_id>/rename", methods=["GET", "POST"])
def rename(chat_id: uuid.UUID) -> BaseResponse | str:
    chat = _chat_or_404(chat_id)
    form = RenameForm(obj=chat)
    sidebar = _sidebar()
    if form.validate_on_submit():
        chat_service.rename_chat(chat, form.title.data or "")
        flash(_("Chat renamed to “%(title)s”.", title=chat.title), "success")
        # Renaming does not move the chat: back to the page of the list it was opened from.
        target = url_for("chats.show", chat_id=chat_id, older=sidebar.cursor)
        return redirect(target, code=303)
    return render_template("chats/rename.html", chat=chat, form=form, sidebar=sidebar)


@bp.route("/<uuid:chat_id>/delete", methods=["GET", "POST"])
def delete(chat_id: uuid.UUID) -> BaseResponse | str:
    chat = _chat_or_404(chat_id)
    return confirm_then_delete(
        "chats/delete.html",
        lambda: chat_service.delete_chat(chat),
        _("Deleted the chat “%(title)s”.", title=chat.title),
        url_for("chats.index"),
        chat=chat,
        count=chat_service.message_count(chat),
        sidebar=_sidebar(),
    )
