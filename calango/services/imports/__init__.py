"""Bringing data in and out: the original Calango's TinyDB file, Calango's own export.

Each importer reads and checks its whole input before writing, writes in one transaction, and
returns an :class:`ImportSummary`. A file that cannot be imported raises
:class:`ImportFileError` with a translated message; nothing is written then.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext


class ImportFileError(Exception):
    """The file cannot be imported at all; the message says why. Nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# Kinds of things an import counts.
KINDS = ("chats", "messages", "rounds", "providers", "personas", "settings")


@dataclass
class ImportSummary:
    """What an import did: counts per kind imported and already present, and what it skipped
    (each with its reason) or imported with a caveat (warnings)."""

    imported: Counter[str] = field(default_factory=Counter)
    present: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for a background job's row."""
        return {
            "imported": dict(self.imported),
            "present": dict(self.present),
            "skipped": self.skipped,
            "warnings": self.warnings,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportSummary:
        return cls(
            imported=Counter(data.get("imported") or {}),
            present=Counter(data.get("present") or {}),
            skipped=list(data.get("skipped") or []),
            warnings=list(data.get("warnings") or []),
        )

    @property
    def nothing_new(self) -> bool:
        return not any(self.imported.values())

    def lines(self) -> list[str]:
        """The summary as translated sentences, for the CLI and the page."""
        lines = []
        if self.nothing_new:
            lines.append(_("Nothing new to import: everything in this file is already here."))
        lines += [
            _("Imported: %(counts)s.", counts=describe_counts(self.imported)),
            _("Already present: %(counts)s.", counts=describe_counts(self.present)),
        ]
        if self.skipped:
            lines.append(
                ngettext("Skipped %(num)d item:", "Skipped %(num)d items:", len(self.skipped))
            )
        return lines


def describe_counts(counts: Counter[str]) -> str:
    """``2 chats, 8 messages, 1 persona`` (translated; "nothing" when empty)."""
    parts = []
    for kind in KINDS:
        num = counts.get(kind, 0)
        if not num:
            continue
        if kind == "chats":
            parts.append(ngettext("%(num)d chat", "%(num)d chats", num))
        elif kind == "messages":
            parts.append(ngettext("%(num)d message", "%(num)d messages", num))
        elif kind == "rounds":
            parts.append(ngettext("%(num)d arena round", "%(num)d arena rounds", num))
        elif kind == "providers":
            parts.append(ngettext("%(num)d provider", "%(num)d providers", num))
        elif kind == "personas":
            parts.append(ngettext("%(num)d persona", "%(num)d personas", num))
        else:
            parts.append(ngettext("%(num)d setting", "%(num)d settings", num))
    return ", ".join(parts) if parts else _("nothing")
