"""Importing the rounds of A Rinha from Calango's own export (``arena_rounds``).

A round is already here when its import key is, or when one of its contenders'
conversations already belongs to a contender here (the conversations travel as chats, by
id). A contender whose conversation is not in the file nor here keeps its column, empty.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, select

from calango.extensions import db
from calango.models import ArenaContender, ArenaRound, ArenaVote, ChatSession, VoteOutcome
from calango.models.arena import MAX_CONTENDERS
from calango.services.imports import ImportSummary
from calango.services.imports import fields as f
from calango.services.imports.owner import import_owner


def _contender(record: Any, renamed: dict[Any, Any], owner: int) -> ArenaContender:
    if not isinstance(record, dict):
        raise f.FieldError(_("contenders must be a list of objects."))
    slot, position = f.integer(record, "slot"), f.integer(record, "position")
    if slot is None or position is None or slot >= MAX_CONTENDERS or position >= MAX_CONTENDERS:
        raise f.FieldError(_("a contender's slot and position must be 0 to 3."))
    session_id = f.identifier(record, "session_id") if record.get("session_id") else None
    session_id = renamed.get(session_id, session_id)  # given a new id by this import
    if session_id is not None:
        session = db.session.get(ChatSession, session_id)
        if session is None or session.owner_id != owner:
            session_id = None
    return ArenaContender(
        slot=slot,
        position=position,
        provider=f.text(record, "provider", 80, required=True),
        model=f.text(record, "model", 200, required=True),
        persona=f.text(record, "persona", 80),
        session_id=session_id,
    )


def _vote(record: Any, turns: int, slots: set[int]) -> ArenaVote:
    if not isinstance(record, dict):
        raise f.FieldError(_("votes must be a list of objects."))
    turn = f.integer(record, "turn")
    outcome = f.choice(record, "outcome", VoteOutcome.ALL)
    winner = f.integer(record, "winner_slot")
    if turn is None or turn >= turns or (outcome == VoteOutcome.WINNER) != (winner in slots):
        raise f.FieldError(_("a vote must name a turn of the round and, for a winner, its slot."))
    return ArenaVote(
        turn=turn, outcome=outcome, winner_slot=winner, created_at=f.moment(record, "created_at")
    )


def import_round(
    record: dict[str, Any], summary: ImportSummary, renamed: dict[Any, Any] | None = None
) -> None:
    """Add the round ``record`` describes for the importing user, unless they already have
    it (raises FieldError). ``renamed``: conversations this import wrote under a new id."""
    owner = import_owner()
    contenders_in = record.get("contenders")
    votes_in = record.get("votes") or []
    if not isinstance(contenders_in, list) or not 1 <= len(contenders_in) <= MAX_CONTENDERS:
        raise f.FieldError(_("contenders must be a list of 1 to 4 contenders."))
    if not isinstance(votes_in, list) or len(votes_in) > 10_000:
        raise f.FieldError(_("votes must be a list of objects."))
    import_key = f.text(record, "import_key", 255)
    contenders = [_contender(c, renamed or {}, owner) for c in contenders_in]
    if len({c.slot for c in contenders}) != len(contenders):
        raise f.FieldError(_("a contender's slot and position must be 0 to 3."))
    sessions = [c.session_id for c in contenders if c.session_id is not None]
    here = (
        import_key is not None
        and db.session.scalar(
            select(
                exists().where(ArenaRound.owner_id == owner, ArenaRound.import_key == import_key)
            )
        )
    ) or (
        bool(sessions)
        and db.session.scalar(select(exists().where(ArenaContender.session_id.in_(sessions))))
    )
    if here:
        summary.present["rounds"] += 1
        return
    turns = f.integer(record, "turns") or 1
    slots = {c.slot for c in contenders}
    arena_round = ArenaRound(
        owner_id=owner,
        title=f.text(record, "title", 200) or "",
        blind=f.boolean(record, "blind", False),
        turns=turns,
        created_at=f.moment(record, "created_at"),
        updated_at=f.moment(record, "updated_at"),
        import_key=import_key,
        contenders=contenders,
        votes=[_vote(v, turns, slots) for v in votes_in],
    )
    if len({v.turn for v in arena_round.votes}) != len(arena_round.votes):
        raise f.FieldError(_("a vote must name a turn of the round and, for a winner, its slot."))
    db.session.add(arena_round)
    db.session.flush()
    summary.imported["rounds"] += 1
