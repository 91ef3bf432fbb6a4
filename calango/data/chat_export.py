"""A chat's downloads (Markdown, JSON), linked from the chat page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

from flask import Blueprint, Response, abort, stream_with_context
from flask_babel import gettext as _

from calango.accounts import current_user_id
from calango.extensions import db
from calango.models import ChatSession, SessionKind
from calango.services.exports.export import chat_json, chat_markdown

bp = Blueprint("chat_export", __name__, url_prefix="/chats")


def download(pieces: Iterator[str], mimetype: str, filename: str) -> Response:
    """A streamed attachment (never built whole in memory)."""
    response = Response(stream_with_context(pieces), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _filename(chat: ChatSession, extension: str) -> str:
    # ASCII only: the title is untrusted and goes into a header.
    slug = re.sub(r"[^A-Za-z0-9]+", "-", chat.title).strip("-").lower()[:60]
    return f"calango-{slug or 'chat'}-{str(chat.id)[:8]}.{extension}"


def _chat_or_404(chat_id: uuid.UUID) -> ChatSession:
    chat = db.get_or_404(
        ChatSession, chat_id, description=_("This chat does not exist or was deleted.")
    )
    # Another user's chat is as missing as a deleted one; so is a contender's conversation
    # in A Rinha.
    if chat.owner_id != current_user_id() or chat.kind != SessionKind.CHAT:
        abort(404, description=_("This chat does not exist or was deleted."))
    return chat


@bp.get("/<uuid:chat_id>/export.md")
def markdown(chat_id: uuid.UUID) -> Response:
    chat = _chat_or_404(chat_id)
    return download(chat_markdown(chat.id), "text/markdown", _filename(chat, "md"))


@bp.get("/<uuid:chat_id>/export.json")
def json(chat_id: uuid.UUID) -> Response:
    chat = _chat_or_404(chat_id)
    return download(chat_json(chat.id), "application/json", _filename(chat, "json"))
