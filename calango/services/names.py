"""Saving a uniquely named row (provider, persona): the check before the write and the race
after it, written once. The rule itself is :func:`calango.models.names.normalize_name`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from calango.extensions import db
from calango.models.names import UniquelyNamed, normalize_name


class NameTaken(Exception):
    """Another row of the same kind already has this name (see ``normalize_name``)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def name_in_use(
    model: type[UniquelyNamed],
    name: str,
    exclude_id: int | None = None,
    scope: ColumnElement[bool] | None = None,
) -> bool:
    """Whether a ``model`` row other than ``exclude_id`` has ``name`` under the name rule,
    among the rows ``scope`` selects (personas: one owner's; default: the whole table)."""
    query = select(model.id).where(model.name_key == normalize_name(name))  # type: ignore[attr-defined]
    if scope is not None:
        query = query.where(scope)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)  # type: ignore[attr-defined]
    return db.session.scalar(query.limit(1)) is not None


def check_name_free(
    model: type[UniquelyNamed],
    name: str,
    exclude_id: int | None = None,
    scope: ColumnElement[bool] | None = None,
) -> None:
    """Raise :class:`NameTaken` when ``name`` is used by another ``model`` row (in ``scope``)."""
    if name_in_use(model, name, exclude_id, scope):
        raise NameTaken(name)


def commit_named(
    model: type[UniquelyNamed],
    name: str,
    exclude_id: int | None = None,
    scope: ColumnElement[bool] | None = None,
) -> None:
    """Commit; a concurrent writer that took ``name`` meanwhile becomes :class:`NameTaken`.

    Any other integrity error is a bug and is not reported to the user as a name clash.
    """
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if name_in_use(model, name, exclude_id, scope):
            raise NameTaken(name) from None
        raise
