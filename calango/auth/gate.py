"""SERVER mode: every page needs a signed-in user, except signing in, registering, static
files and the health check. Browsers go to the login page; scripts (JSON, SSE, XHR) get 401."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from calango.accounts import is_server
from calango.auth import bp

OPEN_ENDPOINTS = frozenset({"auth.login", "auth.register", "static", "healthz"})


def wants_json() -> bool:
    """Whether the request comes from a script rather than a page load."""
    if request.headers.get("X-Requested-With", "").lower() == "xmlhttprequest":
        return True
    if (request.endpoint or "").endswith(".stream"):
        return True
    accept = request.accept_mimetypes
    if accept["text/event-stream"] and not accept.accept_html:
        return True
    return request.is_json or accept.best in ("application/json", "text/event-stream")


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site (``/chats/…``), else None (no open redirect)."""
    if not target or len(target) > 2000:
        return None
    if any(ord(c) < 32 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _requested_path() -> str:
    return request.full_path if request.query_string else request.path


@bp.before_app_request
def require_login() -> Any:
    if not is_server() or request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        return None
    return _to_login()


def _to_login() -> Any:
    if wants_json():
        return jsonify(error=_("Sign in first: your session has ended.")), 401
    if request.method not in ("GET", "HEAD"):
        return redirect(url_for("auth.login"), 303)
    return redirect(url_for("auth.login", next=_requested_path()))


@bp.before_request
def server_only() -> None:
    """No accounts in DESKTOP: the local user is everyone."""
    if not is_server():
        abort(404)


@bp.after_app_request
def no_store(response: Response) -> Response:
    """Signed-in pages are not kept in the browser's cache: Back after signing out shows
    nothing private."""
    if is_server() and request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_errorhandler(401)
def unauthorized(_exc: Exception) -> Any:
    return _to_login()


@bp.app_errorhandler(429)
def too_many(_exc: Exception) -> Any:
    message = _("Too many attempts. Wait a minute and try again.")
    if request.endpoint in ("auth.login", "auth.register"):
        from calango.auth.routes import render_limited

        return render_limited(request.endpoint, message), 429
    if wants_json():
        return jsonify(error=message), 429
    return render_template(
        "errors/error.html", status=429, title=_("Too many attempts"), message=message
    ), 429


@bp.app_context_processor
def accounts_context() -> dict[str, Any]:
    """What the layout's user menu needs."""
    from calango.services.users import PASSWORD_MIN_LENGTH

    server = is_server()
    return {
        "accounts_enabled": server,
        "password_min": PASSWORD_MIN_LENGTH,
        "user_is_admin": bool(server and current_user.is_authenticated and current_user.is_admin),
    }
