"""HTTP-wide behaviour: security headers, error pages, health check, schema check."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)

from calango.extensions import db
from calango.hosts import host_allowed

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def _error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _host_gate() -> Any:
    """Answer only the Host names the configuration allows (DNS rebinding: a hostile page on
    ``rebind.example`` that resolves to 127.0.0.1 must not read or drive the app)."""
    allowed = current_app.config.get("ALLOWED_HOSTS")
    # The health check and static files show nothing private; serving them lets the refusal
    # page below keep its stylesheet.
    if allowed is None or request.endpoint in ("healthz", "static"):
        return None
    environ = request.environ
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    if host_allowed(host, allowed):
        return None
    log.warning("refused a request for host %r (not in CALANGO_ALLOWED_HOSTS)", host[:100])
    return _error_page(
        400,
        _("Unknown address"),
        _(
            "Calango does not answer to this host name. Open it as http://localhost or "
            "http://127.0.0.1, or add the name to CALANGO_ALLOWED_HOSTS."
        ),
    )


def _schema_gate() -> Any:
    """Once per process, before the first real request: refuse to serve an old schema and
    mark answers a dead process left ``streaming``. Nothing touches the database at import."""
    if request.endpoint in (None, "static", "healthz"):
        return None
    if current_app.extensions.get("calango_schema_ok"):
        return None
    from calango.schema import pending_upgrade

    try:
        behind = pending_upgrade()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("database unreachable")
        return _error_page(
            503,
            _("Database unavailable"),
            _("Calango cannot reach its database. Check DATABASE_URL and that the server runs."),
        )
    if behind:
        return _error_page(
            503,
            _("Database needs an upgrade"),
            _(
                "The database schema is older than this version of Calango. Stop Calango, run "
                "“flask db upgrade” in its folder, and start it again."
            ),
        )
    current_app.extensions["calango_schema_ok"] = True
    from calango.services.generation import mark_abandoned_streams

    mark_abandoned_streams()
    return None


def init_web(app: Flask) -> None:
    """Register headers, error handlers, ``/healthz`` and the template context."""
    from calango.rendering import render_markdown, sanitizer_policy
    from calango.services.message_html import message_html

    app.after_request(_security_headers)
    app.before_request(_host_gate)  # first: nothing else runs for a refused host
    app.before_request(_schema_gate)
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.globals["markdown_policy"] = sanitizer_policy
    app.jinja_env.filters["message_html"] = message_html

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            db.session.rollback()
            return jsonify(status="error", database="error"), 503
        return jsonify(status="ok", database="ok"), 200

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        return _error_page(
            400,
            _("Form expired"),
            _(
                "The form was missing its security token or it expired. Go back, reload the "
                "page and submit again; nothing was changed."
            ),
        )

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> Any:
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        message = _(
            "What you sent is larger than this server accepts (%(size)s MB in all, message and "
            "attached files together). Nothing was saved.",
            size=format_decimal(round(limit / (1024 * 1024), 1)),
        )
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error=message), 413  # the composer shows it, the text stays typed
        return _error_page(413, _("Too large"), message)

    @app.errorhandler(404)
    def not_found(exc: HTTPException) -> tuple[str, int]:
        # Our own aborts carry a translated description; werkzeug's default one is English.
        custom = exc.description if exc.description != NotFound.description else None
        return _error_page(
            404, _("Not found"), custom or _("There is nothing here. It may have been deleted.")
        )

    @app.errorhandler(405)
    def not_allowed(exc: HTTPException) -> Response:
        response = make_response(
            _error_page(405, _("Not allowed"), _("This address does not accept that request."))
        )
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(BadRequest)
    def bad_request(exc: BadRequest) -> tuple[str, int]:
        return _error_page(
            400,
            _("Bad request"),
            _("The request could not be understood. Go back, reload the page and try again."),
        )

    @app.errorhandler(OperationalError)
    def could_not_save(exc: OperationalError) -> tuple[str, int]:
        # A full disk, a locked or vanished database: say that nothing was saved, not "bug".
        db.session.rollback()
        log.error("database error: %s", exc)
        return _error_page(
            503,
            _("Could not save"),
            _(
                "Calango could not write to its database: the disk may be full, or the "
                "database is unavailable. Nothing was changed. Free some space or check the "
                "database, then try again."
            ),
        )

    @app.errorhandler(500)
    def server_error(exc: Exception) -> tuple[str, int]:
        db.session.rollback()
        return _error_page(
            500,
            _("Something went wrong"),
            _(
                "Calango hit an unexpected error. Nothing you saved before was lost; the details "
                "are in the server log."
            ),
        )

    @app.context_processor
    def layout_context() -> dict[str, Any]:
        from calango.services.preferences import saved_theme
        from calango.themes import THEMES

        if "calango_theme" not in g:
            g.calango_theme = saved_theme()
        return {"current_theme": g.calango_theme, "THEMES": THEMES}
