"""The original Calango's arena records (session ``rinha-mode``) become rounds of A Rinha.

The original asked 2–4 models the same question one after another and saved one history
record per answer, without saying which records belonged together. Consecutive records with
the same question, at most ``GAP`` apart, are one round (at most four contenders); each
record is a contender whose conversation holds the question and its answer. Votes were never
recorded, so imported rounds move no rating until someone votes on them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask_babel import gettext as _

from calango.extensions import db
from calango.models import ArenaContender, ArenaRound, ChatSession, SessionKind
from calango.models.arena import MAX_CONTENDERS
from calango.models.types import utcnow
from calango.services.branches import link_as_single_branch
from calango.services.chat import title_from
from calango.services.imports import ImportSummary
from calango.services.imports.legacy_parse import LegacyExchange
from calango.services.imports.owner import import_owner

GAP = timedelta(minutes=10)
PREFIX = "tinydb:"


def _rounds(exchanges: list[LegacyExchange]) -> list[list[LegacyExchange]]:
    groups: list[list[LegacyExchange]] = []
    for exchange in exchanges:
        last = groups[-1] if groups else None
        if (
            last is not None
            and len(last) < MAX_CONTENDERS
            and last[-1].question == exchange.question
            and exchange.timestamp is not None
            and last[-1].timestamp is not None
            and exchange.timestamp - last[-1].timestamp <= GAP
        ):
            last.append(exchange)
        else:
            groups.append([exchange])
    return groups


def import_rounds(
    exchanges: list[LegacyExchange],
    known: set[str],
    summary: ImportSummary,
    add_messages: Callable[[ChatSession, LegacyExchange, ImportSummary], None],
) -> None:
    """Add a round per group of ``exchanges`` (sorted by time) not imported before.

    ``known`` holds the import keys already in the database; ``add_messages`` is the legacy
    importer's own "question and answer of a record" (so both kinds of import agree)."""
    owner = import_owner()
    sessions: list[ChatSession] = []
    for group in _rounds(exchanges):
        key = f"{PREFIX}rinha:{group[0].key}"
        if all(f"{PREFIX}history:{e.key}:a" in known for e in group):
            summary.present["rounds"] += 1
            summary.present["messages"] += 2 * len(group)
            continue
        created = group[0].timestamp or utcnow()
        title = title_from(group[0].question or "") or _("A Rinha (imported)")
        arena_round = ArenaRound(
            owner_id=owner, title=title, blind=False, created_at=created,
            updated_at=group[-1].timestamp or created, import_key=key,
        )  # fmt: skip
        for slot, exchange in enumerate(group):
            session = ChatSession(
                owner_id=owner, title=title, kind=SessionKind.ARENA, created_at=created,
                updated_at=exchange.timestamp or created, persona=exchange.persona,
                import_key=f"{PREFIX}rinha:{exchange.key}",
            )  # fmt: skip
            add_messages(session, exchange, summary)
            sessions.append(session)
            arena_round.contenders.append(
                ArenaContender(
                    slot=slot,
                    position=slot,
                    provider=exchange.provider or "?",
                    model=exchange.model or "?",
                    persona=exchange.persona,
                    session=session,
                )
            )
        db.session.add(arena_round)
        summary.imported["rounds"] += 1
    if sessions:
        db.session.flush()
        link_as_single_branch([session.id for session in sessions])  # question, then answer
