"""Checking one field of an imported record: type, length, range. Each check raises
:class:`FieldError` naming the problem; the importer adds where it is."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

MAX_COST = Decimal("999999")


class FieldError(Exception):
    """A field of a record is missing or of the wrong type."""


def text(record: dict[str, Any], name: str, limit: int, required: bool = False) -> str | None:
    value = record.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise FieldError(_("%(field)s must be text.", field=name))
    if len(value) > limit:
        raise FieldError(
            _("%(field)s is longer than %(limit)d characters.", field=name, limit=limit)
        )
    return value


def choice(record: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = record.get(name)
    if value not in allowed:
        raise FieldError(
            _("%(field)s must be one of %(allowed)s.", field=name, allowed=", ".join(allowed))
        )
    return str(value)


def moment(record: dict[str, Any], name: str, required: bool = True) -> datetime | None:
    value = record.get(name)
    if value is None and not required:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise FieldError(_("%(field)s must be a date and time.", field=name)) from None
    if not isinstance(value, str):
        raise FieldError(_("%(field)s must be a date and time.", field=name))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def integer(record: dict[str, Any], name: str) -> int | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise FieldError(_("%(field)s must be a whole number.", field=name))
    return value


def mapping(record: dict[str, Any], name: str, nullable: bool = False) -> dict[str, Any] | None:
    value = record.get(name)
    if value is None:
        return None if nullable else {}
    if not isinstance(value, dict):
        raise FieldError(_("%(field)s must be an object.", field=name))
    return value


def boolean(record: dict[str, Any], name: str, default: bool) -> bool:
    value = record.get(name, default)
    if not isinstance(value, bool):
        raise FieldError(_("%(field)s must be true or false.", field=name))
    return value


def strings(record: dict[str, Any], name: str, limit: int) -> list[str]:
    value = record.get(name) or []
    if not isinstance(value, list) or not all(
        isinstance(v, str) and len(v) <= limit for v in value
    ):
        raise FieldError(_("%(field)s must be a list of names.", field=name))
    return list(value)


def identifier(record: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(record.get(name)))
    except ValueError:
        raise FieldError(_("%(field)s must be a UUID.", field=name)) from None


def cost(record: dict[str, Any], name: str) -> Decimal | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(_("%(field)s must be an amount.", field=name))
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise FieldError(_("%(field)s must be an amount.", field=name)) from None
    if not amount.is_finite() or not Decimal(0) <= amount <= MAX_COST:
        raise FieldError(_("%(field)s must be an amount.", field=name))
    return amount


def finite_floats_only(value: Any) -> bool:
    """True when a JSON value holds no NaN or infinity (they cannot be stored as JSON)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_floats_only(v) for v in value.values())
    if isinstance(value, list):
        return all(finite_floats_only(v) for v in value)
    return True
