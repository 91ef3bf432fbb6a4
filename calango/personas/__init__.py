"""The personas blueprint."""

from flask import Blueprint

bp = Blueprint("personas", __name__, url_prefix="/personas")

from calango.personas import routes  # noqa: E402, F401


@bp.app_context_processor
def _persona_avatars() -> dict[str, object]:
    """``persona_avatars[name]`` for message bubbles, loaded on first use in a request."""
    from calango.personas.avatar_lookup import AvatarLookup

    return {"persona_avatars": AvatarLookup()}
