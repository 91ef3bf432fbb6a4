"""The personas blueprint."""

from flask import Blueprint

bp = Blueprint("personas", __name__, url_prefix="/personas")

from calango.personas import routes  # noqa: E402, F401
