"""Your data: importing the original Calango's history, exports, backups (Settings)."""

from flask import Blueprint

bp = Blueprint("data", __name__, url_prefix="/settings/data")

from calango.data import jobs, routes  # noqa: E402, F401
