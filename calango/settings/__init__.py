"""The settings blueprint: appearance and language, providers, configuration import/export."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from calango.settings import config_page, providers, routes  # noqa: E402, F401
