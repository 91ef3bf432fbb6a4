"""Whose rows an import writes: set once by its entry point (the web route's current user,
the CLI's ``--user``), read by the importers as they build rows and match what is already
there (import keys and names are matched among that user's rows only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from calango.accounts import is_server, local_user_id

_owner: ContextVar[int | None] = ContextVar("calango_import_owner", default=None)


@contextmanager
def importing_for(owner_id: int | None) -> Iterator[int]:
    """Run an import for ``owner_id`` (``None``: the user of this request, or the local user
    in DESKTOP mode)."""
    owner = owner_id if owner_id is not None else default_owner()
    token = _owner.set(owner)
    try:
        yield owner
    finally:
        _owner.reset(token)


def default_owner() -> int:
    """The user an import is for when nobody said: the signed-in user (SERVER), else the
    local user."""
    if is_server():
        from calango.accounts import current_user_id

        return current_user_id()
    return local_user_id()


def import_owner() -> int:
    """The owner of the import running now."""
    owner = _owner.get()
    return owner if owner is not None else default_owner()
