"""What can be done to a round once it exists: stop, vote, continue in a chat, delete."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from calango.extensions import db
from calango.models import ArenaContender, ArenaRound, ArenaVote, SessionKind, VoteOutcome
from calango.models.types import utcnow
from calango.services import arena_queries as queries
from calango.services import call_rollup
from calango.services.arena import LAST_CHOICE_KEY, ArenaInputError
from calango.services.generation import request_stop
from calango.services.preferences import saved_value


def stop_answer(arena_round: ArenaRound, message_id: int) -> bool:
    """Stop one contender's answer; False when it had already finished."""
    if queries.message_in_round(arena_round.id, message_id) is None:
        return False
    return request_stop(message_id)


def stop_round(arena_round: ArenaRound) -> int:
    """Stop every answer of the round still being written; how many were asked to stop."""
    return sum(request_stop(mid) for mid in queries.streaming_message_ids(arena_round.id))


def cast_vote(arena_round: ArenaRound, turn: int, outcome: str, winner_slot: int | None) -> None:
    """Record (or replace) the vote on one turn of the round.

    Raises ArenaInputError when the turn does not exist, is still being answered, or the
    winner is no contender of the round."""
    if not 0 <= turn < arena_round.turns:
        raise ArenaInputError(_("This round has no such turn."), status=404)
    if outcome not in VoteOutcome.ALL:
        raise ArenaInputError(_("Pick the best answer, a tie, or all bad."))
    slots = {c.slot for c in arena_round.contenders}
    if outcome == VoteOutcome.WINNER and winner_slot not in slots:
        raise ArenaInputError(_("Pick the best answer, a tie, or all bad."))
    if queries.streaming_message_ids(arena_round.id):
        raise ArenaInputError(
            _("Wait until every contender has finished before voting."), status=409
        )
    vote = queries.vote_on(arena_round.id, turn)
    if vote is None:
        vote = ArenaVote(round_id=arena_round.id, turn=turn)
        db.session.add(vote)
    vote.outcome = outcome
    vote.winner_slot = winner_slot if outcome == VoteOutcome.WINNER else None
    vote.created_at = utcnow()
    db.session.commit()


def continue_in_chat(contender: ArenaContender) -> Any:
    """Make the contender's conversation a normal chat (its history as it is); returns its id.

    The conversation itself becomes the chat rather than a copy of it: every answer then stays
    counted once in A Cuca, from now on as a chat call (as ``call_query`` reads it, by the
    session's kind; the rollup follows in the same transaction). The round keeps showing its
    turns and leaves this contender out of later follow-ups."""
    session = contender.session
    if session is None:
        raise ArenaInputError(_("This contender's conversation was deleted."), status=404)
    if queries.streaming_message_ids(contender.round_id):
        raise ArenaInputError(
            _("Wait until every contender has finished, then continue in a chat."), status=409
        )
    if session.kind == SessionKind.ARENA:
        with call_rollup.rekinded(session.id):  # its answers become chat calls in A Cuca
            session.kind = SessionKind.CHAT
        session.title = contender.round.title
        session.updated_at = utcnow()
        db.session.commit()
    return session.id


def delete_round(arena_round: ArenaRound) -> None:
    """Delete a round, its votes and its contenders' conversations (not the ones continued
    as chats), stopping answers still being written."""
    stop_round(arena_round)
    queries.delete_sessions(queries.arena_session_ids([arena_round.id]))
    db.session.delete(arena_round)
    db.session.commit()


def clear_arena() -> None:
    """Delete every round (chats continued from them stay)."""
    for message_id in queries.streaming_message_ids(None):
        request_stop(message_id)
    queries.delete_sessions(queries.arena_session_ids())
    queries.delete_all_rounds()
    db.session.commit()


def last_choice() -> dict[str, Any]:
    """The contenders, personas and blind flag of the last round (keys may be missing)."""
    value = saved_value(LAST_CHOICE_KEY)
    return value if isinstance(value, dict) else {}
