"""The auth blueprint (SERVER mode): sign-in, registration, the account page and the admin
pages for users, instance settings and the audit log. Every route 404s in DESKTOP."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from calango.auth import admin_routes, gate, routes  # noqa: E402, F401
