"""Who may manage the instance: admins (SERVER) and the local user (DESKTOP)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_login import current_user

from calango.accounts import is_server

F = TypeVar("F", bound=Callable[..., Any])


def is_admin() -> bool:
    """Whether the current user manages the instance (always, in DESKTOP)."""
    if not is_server():
        return True
    return bool(current_user.is_authenticated and current_user.is_admin)


def admin_required(view: F) -> F:
    """Refuse (403) a view to anyone but an admin in SERVER mode."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not is_server():
            return view(*args, **kwargs)
        if not current_user.is_authenticated:
            abort(401)
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)
