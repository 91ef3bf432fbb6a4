"""A Rinha's rounds as JSON-ready dicts for the full export (their contenders and votes
inside; each contender names its conversation, exported among the chats, by id)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import selectinload

from calango.extensions import db
from calango.models import ArenaRound
from calango.services.exports.records import _value as json_value

BATCH = 200

ROUND_FIELDS = ("title", "blind", "turns", "created_at", "updated_at", "import_key")
CONTENDER_FIELDS = ("slot", "position", "provider", "model", "persona", "session_id")
VOTE_FIELDS = ("turn", "outcome", "winner_slot", "created_at")


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: json_value(getattr(obj, name)) for name in names}


def round_records(owner_id: int | None = None) -> Iterator[dict[str, Any]]:
    """Every round (of ``owner_id``; ``None``: everyone's), oldest first, read in batches."""
    last = 0
    mine = ArenaRound.owner_id == owner_id if owner_id is not None else true()
    while True:
        rounds = list(
            db.session.scalars(
                select(ArenaRound)
                .where(ArenaRound.id > last, mine)
                .order_by(ArenaRound.id)
                .limit(BATCH)
                .options(selectinload(ArenaRound.contenders), selectinload(ArenaRound.votes))
            )
        )
        if not rounds:
            return
        for arena_round in rounds:
            yield {
                **_fields(arena_round, ROUND_FIELDS),
                "contenders": [_fields(c, CONTENDER_FIELDS) for c in arena_round.contenders],
                "votes": [_fields(v, VOTE_FIELDS) for v in arena_round.votes],
            }
        last = rounds[-1].id
        for arena_round in rounds:  # one batch in memory at a time
            for child in [*arena_round.contenders, *arena_round.votes, arena_round]:
                db.session.expunge(child)
