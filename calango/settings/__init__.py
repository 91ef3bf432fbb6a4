"""The settings blueprint: appearance and language (providers and import/export have their own
blueprints under the same ``/settings`` address)."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from calango.settings import (  # noqa: E402, F401
    profile_routes,
    routes,
    spending_routes,
    title_routes,
)
