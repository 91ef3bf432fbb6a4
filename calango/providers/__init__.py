"""The providers blueprint: list, add, edit, test, fetch models, delete, first-run setup."""

from flask import Blueprint

bp = Blueprint("providers", __name__, url_prefix="/settings/providers")

from calango.providers import network, routes  # noqa: E402, F401
