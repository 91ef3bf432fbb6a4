"""What every request's input goes through before any view sees it.

PostgreSQL refuses NUL bytes in text, and SQLite and PostgreSQL both refuse integers beyond
their range; either reaching the database would be a 500. So NULs are dropped from every form
field, query argument and uploaded file name, and ``<int:...>`` in a route only matches ids a
database column can hold (anything larger is a 404, like any id that does not exist).
"""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

DATABASE_ID_MAX = 2**31 - 1  # INTEGER on PostgreSQL (SQLite's is wider)


def _without_nul(data: ImmutableMultiDict[str, Any]) -> ImmutableMultiDict[str, Any]:
    if not any(
        "\x00" in key or (isinstance(value, str) and "\x00" in value)
        for key, value in data.items(multi=True)
    ):
        return data
    return ImmutableMultiDict(
        [
            (
                key.replace("\x00", ""),
                value.replace("\x00", "") if isinstance(value, str) else value,
            )
            for key, value in data.items(multi=True)
        ]
    )


class CalangoRequest(Request):
    """A request whose form fields and query arguments never hold NUL bytes."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.__dict__["form"] = _without_nul(self.__dict__["form"])

    @property
    def args(self) -> ImmutableMultiDict[str, str]:  # type: ignore[override]
        cached = self.__dict__.get("_calango_args")
        if cached is None:
            cached = self.__dict__["_calango_args"] = _without_nul(super().args)
        return cached


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` limited to positive ids an INTEGER column can hold."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 0)
        kwargs.setdefault("max", DATABASE_ID_MAX)
        super().__init__(map, *args, **kwargs)
