"""The auth blueprint (SERVER mode): sign-in, registration, the account page and the admin
pages for users, instance settings and the audit log. Every route 404s in DESKTOP."""

from flask import Blueprint

bp = Blueprint("auth", __name__)


@bp.record_once
def _login_view(_state: object) -> None:
    from calango.extensions import login_manager

    login_manager.login_view = "auth.login"


from calango.auth import admin_routes, gate, routes  # noqa: E402, F401
