"""The chats blueprint."""

from flask import Blueprint

bp = Blueprint("chats", __name__, url_prefix="/chats")

from calango.chats import branch_routes, file_routes, history_routes, routes  # noqa: E402, F401


@bp.app_context_processor
def _message_files() -> dict[str, object]:
    """``message_files.of(m)`` for message bubbles: read only for messages with files."""
    from calango.services.attachments import FileChipLookup

    return {"message_files": FileChipLookup()}
