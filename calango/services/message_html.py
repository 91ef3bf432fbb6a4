"""The HTML of a message: rendered once when its text is final, stored, then reused.

``calango.rendering.render_markdown`` is the only producer of message HTML. A finished
message keeps its output in ``content_html`` with the renderer's ``RENDER_VERSION``; a
message still streaming is never stored (its text still grows) and always shown as text.
Rows without current HTML (stored before the column existed, imported, or rendered by an
older renderer) are rendered on their first display and stored then: one UPDATE for the
whole page (``chats.show``, a request with nothing else to commit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup
from sqlalchemy import case, or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value

from calango.extensions import db
from calango.models import ChatMessage, MessageStatus
from calango.rendering import RENDER_VERSION, render_markdown

log = logging.getLogger(__name__)

# What a write of a text that is not final yet sets: no stored HTML.
NO_HTML: dict[str, Any] = {"content_html": None, "content_html_version": None}


def final_html_values(text: str) -> dict[str, Any]:
    """The columns to save with a message's final text (for an UPDATE or a constructor)."""
    return {"content_html": str(render_markdown(text)), "content_html_version": RENDER_VERSION}


def _current(message: ChatMessage) -> bool:
    return message.content_html is not None and message.content_html_version == RENDER_VERSION


def message_html(message: ChatMessage) -> Markup:
    """The safe HTML of a finished message: the stored renderer output when current,
    otherwise rendered now (not stored: see ``store_missing_html``)."""
    if message.status != MessageStatus.STREAMING and _current(message):
        # The renderer's own output, stored by final_html_values or store_missing_html.
        return Markup(message.content_html)
    return render_markdown(message.content)


def store_missing_html(messages: Iterable[ChatMessage]) -> int:
    """Render and store the HTML of the finished ``messages`` that have none (or an older
    version's), in one UPDATE; returns how many rows were written. The objects get the
    values without becoming dirty. A row saved meanwhile (another text, or HTML already
    stored by the producer's final save) is left alone; a failed write only costs
    rendering again next time. Commits: call it only with nothing else pending."""
    messages = list(messages)
    todo = [m for m in messages if m.status != MessageStatus.STREAMING and not _current(m)]
    if not todo:
        return 0
    pending = {m.id: str(render_markdown(m.content)) for m in todo}
    rendered_from = {m.id: m.content for m in todo}
    statement = (
        update(ChatMessage)
        .where(ChatMessage.id.in_(pending))
        .where(ChatMessage.status != MessageStatus.STREAMING)
        # Only for the text it was rendered from: a row saved again meanwhile keeps its own.
        .where(ChatMessage.content == case(rendered_from, value=ChatMessage.id))
        .where(
            or_(
                ChatMessage.content_html_version.is_(None),
                ChatMessage.content_html_version != RENDER_VERSION,
            )
        )
        .values(
            content_html=case(pending, value=ChatMessage.id),
            content_html_version=RENDER_VERSION,
        )
        .execution_options(synchronize_session=False)
    )
    try:
        written = db.session.execute(statement).rowcount  # type: ignore[attr-defined]
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not store the HTML of %d messages", len(pending), exc_info=True)
        return 0
    for message in messages:
        if message.id in pending:
            set_committed_value(message, "content_html", pending[message.id])
            set_committed_value(message, "content_html_version", RENDER_VERSION)
    return int(written)
