"""A message's attached files, downloaded by the owner of its chat only.

Always as an attachment with the stored type and ``nosniff``, and a CSP that allows nothing:
a text file holding HTML is offered as ``text/plain``, never rendered; images are the
server's own re-encoding (``services.file_intake``). The chips' thumbnails use the same
address (an ``<img>`` ignores ``Content-Disposition``)."""

from __future__ import annotations

import io
import uuid

from flask import Response, send_file

from calango.chats import bp
from calango.ownership import owned_file_or_404


@bp.get("/<uuid:chat_id>/messages/<int:message_id>/files/<int:position>")
def attachment(chat_id: uuid.UUID, message_id: int, position: int) -> Response:
    """The file at ``position`` of the message (another user's: 404)."""
    link, stored = owned_file_or_404(chat_id, message_id, position)
    response = send_file(
        io.BytesIO(stored.data),
        mimetype=stored.mime,
        as_attachment=True,
        download_name=link.name,
        etag=stored.sha256,
        max_age=0,
        conditional=True,
    )
    response.headers["Content-Type"] = stored.mime  # as stored (send_file would add a charset)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
