"""Who may do what: admin-only pages (providers, instance settings, users, audit log).

DESKTOP has one local user, who is an admin; in SERVER only accounts with ``is_admin`` pass.
A non-admin gets a translated 403 page (never the admin page, never a traceback).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, render_template
from flask_babel import gettext as _
from flask_login import current_user

from calango.accounts import is_server

F = TypeVar("F", bound=Callable[..., Any])


def is_admin() -> bool:
    """Whether the user this request acts for may manage the instance."""
    if not is_server():
        return True
    return bool(current_user.is_authenticated and current_user.is_admin)


def forbidden_page() -> tuple[str, int]:
    """The 403 page shown to a signed-in user who is not an admin."""
    return (
        render_template(
            "errors/error.html",
            status=403,
            title=_("Admins only"),
            message=_("Only an administrator of this Calango instance can open this page."),
        ),
        403,
    )


def admin_required(view: F) -> F:
    """Let only admins through: 401 when nobody is signed in (SERVER), else the 403 page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if is_server() and not current_user.is_authenticated:
            abort(401)
        if not is_admin():
            return forbidden_page()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
