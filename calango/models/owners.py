"""The default owner of a new row (see :func:`calango.accounts.default_owner_id`)."""

from __future__ import annotations


def default_owner() -> int:
    """Column default for ``owner_id``: imported lazily (accounts imports the models)."""
    from calango.accounts import default_owner_id

    return default_owner_id()
