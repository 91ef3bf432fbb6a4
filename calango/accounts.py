"""Who is asking: the signed-in user in SERVER mode, the one local user in DESKTOP mode.

Every route and service that reads or writes a user's data asks :func:`current_user_id`;
background work (the producer thread, CLI commands) is handed the owner's id explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, abort, current_app, g, has_request_context
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from calango.extensions import db, login_manager
from calango.models.user import User

_LOCAL_ID_KEY = "calango_local_user_id"
_LOCAL_USER_KEY = "calango_local_user"


def is_server(app: Flask | None = None) -> bool:
    """Whether this app runs in SERVER mode (accounts, sign-in)."""
    return (app or current_app).config.get("MODE") == "SERVER"


def local_user_id() -> int:
    """The DESKTOP user's id (created by the migration), remembered per app."""
    cached = current_app.extensions.get(_LOCAL_ID_KEY)
    if cached is None:
        cached = db.session.scalar(select(User.id).where(User.is_local.is_(True)).limit(1))
        if cached is None:
            raise RuntimeError("The local user is missing: run `flask db upgrade`.")
        current_app.extensions[_LOCAL_ID_KEY] = cached
    return int(cached)


def current_user_id() -> int:
    """The id of the user this request acts for; 401 when nobody is signed in (SERVER)."""
    if not is_server():
        return local_user_id()
    if not current_user.is_authenticated:
        abort(401)
    return int(current_user.id)


def default_owner_id() -> int:
    """The owner of a row created without one: the requesting user, or in DESKTOP the local
    user (CLI, background threads). SERVER background work must pass the owner explicitly."""
    from flask import has_request_context

    if has_request_context():
        return current_user_id()
    if not is_server():
        return local_user_id()
    raise RuntimeError("owner_id must be given explicitly outside a request in SERVER mode")


def _load_user(user_id: str) -> User | None:
    """Flask-Login's loader: ``"<id>:<epoch>"``; a stale epoch or a disabled account signs
    the session out."""
    raw_id, _, raw_epoch = user_id.partition(":")
    if not (raw_id.isdigit() and raw_epoch.isdigit()):
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or not user.is_active or user.session_epoch != int(raw_epoch):
        return None
    return user


def forget_local_user() -> None:
    """Drop the app's copy of the DESKTOP user (after changing its row)."""
    current_app.extensions.pop(_LOCAL_USER_KEY, None)


def _desktop_user(_request: object) -> User | None:
    """DESKTOP: whoever reaches the app is the local user (it binds 127.0.0.1 only)."""
    if is_server():
        return None
    # Every page renders ``current_user`` (Flask-Login's context processor loads it): the
    # local user is read once per app and kept detached, so that a request (the send, with
    # its statement budget) does not pay a SELECT for it. DESKTOP has no page that changes
    # this row; :func:`forget_local_user` drops the copy for code that does.
    cached = current_app.extensions.get(_LOCAL_USER_KEY)
    if isinstance(cached, User):
        return cached
    try:
        user = db.session.get(User, local_user_id())
        if user is not None:
            db.session.expunge(user)
            current_app.extensions[_LOCAL_USER_KEY] = user
        return user
    except (SQLAlchemyError, RuntimeError):
        # A database not yet upgraded: the page that says so must still render.
        db.session.rollback()
        return None


def init_accounts(app: Flask) -> None:
    """Wire Flask-Login: the session loader and, in DESKTOP, the implicit local user."""
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_desktop_user)
    login_manager.session_protection = "basic"


@contextmanager
def user_kept_loaded() -> Iterator[None]:
    """Commit inside without expiring the signed-in user: the page rendered afterwards reads
    ``current_user`` again, which would otherwise cost a SELECT (the send's statement
    budget). The user row is not changed inside."""
    # Only a user this request loaded already (Flask-Login keeps it in ``g``): asking
    # ``current_user`` here would load it.
    user = g.get("_login_user") if has_request_context() else None
    if isinstance(user, User) and user in db.session:
        db.session.expunge(user)
    else:
        user = None
    try:
        yield
    finally:
        if user is not None:
            db.session.add(user)
