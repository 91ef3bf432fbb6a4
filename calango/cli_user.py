"""``--user EMAIL`` of the CLI commands that read or write one person's data."""

from __future__ import annotations

import click
from sqlalchemy import select

from calango.accounts import is_server, local_user_id
from calango.extensions import db
from calango.models import User

USER_HELP = (
    "E-mail of the user whose data this is (default: the local user in DESKTOP mode, or the "
    "only user; required in SERVER mode when there are several)."
)


def user_by_email(email: str) -> int:
    """The id of the user with ``email``; a clear error when there is none."""
    user = User.by_email(email)
    if user is None:
        raise click.UsageError(f"No user with the e-mail {email!r}.")
    return int(user.id)


def cli_user_id(email: str | None) -> int:
    """Whom a command acts for: ``email``'s user, else the local user (DESKTOP) or the only
    user (SERVER); refuses to guess when a SERVER instance has several."""
    if email:
        return user_by_email(email)
    if not is_server():
        return local_user_id()
    ids = list(db.session.scalars(select(User.id).order_by(User.id).limit(2)))
    if len(ids) == 1:
        return int(ids[0])
    if not ids:
        raise click.UsageError("There is no user yet: create one first.")
    raise click.UsageError("Several users exist: say whose data this is with --user EMAIL.")
