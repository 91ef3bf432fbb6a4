"""The one rule for user-chosen names (providers, personas): unique regardless of case,
Unicode composition and spacing.

Every name is stored with its normalised form in ``name_key``, which carries the unique
constraint. Comparing in SQL with ``lower()`` is not enough: SQLite folds only ASCII, so
"ÇAJU" and "çaju" would both pass there.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Self

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column, validates
from sqlalchemy.sql import Select

NAME_MAX = 80
# Case folding can lengthen a name ("ß" → "ss", "ﬃ" → "ffi").
NAME_KEY_MAX = 4 * NAME_MAX


def normalize_name(name: str) -> str:
    """The form two names are compared in: NFKC, case-folded, spaces trimmed and collapsed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


class UniquelyNamed:
    """Mixin: a ``name`` shown as typed and a ``name_key`` kept in step, unique per table."""

    name: Mapped[str] = mapped_column(String(NAME_MAX))
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_MAX), unique=True)

    @validates("name")
    def _keep_name_key(self, _attribute: str, value: Any) -> Any:
        self.name_key = normalize_name(value or "")
        return value

    @classmethod
    def select_by_name(cls, name: str) -> Select[tuple[Self]]:
        """The row whose name equals ``name`` under :func:`normalize_name`."""
        return select(cls).where(cls.name_key == normalize_name(name))
