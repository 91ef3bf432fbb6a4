"""The dashboard blueprint ("A Cuca"): what AI use costs, how fast models answer, what fails."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/cuca")

from calango.dashboard import routes  # noqa: E402, F401
