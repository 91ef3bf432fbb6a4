"""The chats blueprint."""

from flask import Blueprint

bp = Blueprint("chats", __name__, url_prefix="/chats")

from calango.chats import branch_routes, history_routes, routes  # noqa: E402, F401
