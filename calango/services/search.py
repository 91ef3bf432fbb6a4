"""Search every chat: titles and message text, ranked, with highlighted snippets.

What the user typed is never passed to the database as query syntax: it is reduced to words
(letters and digits) and "quoted phrases", and each dialect quotes or binds those itself
(``calango.services.search_sql``). Nothing a user can type makes a search raise.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import get_timezone
from sqlalchemy import select

from calango.accounts import current_user_id
from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Persona, Provider, SessionKind
from calango.services.personas import visible_to
from calango.services.search_sql import MARK_CLOSE, MARK_OPEN, Filters, Term, for_dialect

MAX_QUERY_CHARS = 500
MAX_TERMS = 12
MAX_WORD_CHARS = 64
PAGE_SIZE = 20
MAX_PAGE = 10
TITLE_HITS = 5
_WORD = re.compile(r"[^\W_]+")

Snippet = list[tuple[str, bool]]  # (text, is a match), in order


@dataclass
class ParsedQuery:
    """The terms searched for, and whether some of the input was left out."""

    terms: list[Term] = field(default_factory=list)
    truncated: bool = False


@dataclass
class MessageHit:
    message_id: int
    chat_id: uuid.UUID
    chat_title: str
    role: str
    model: str | None
    persona: str | None
    timestamp: datetime
    snippet: Snippet


@dataclass
class TitleHit:
    chat_id: uuid.UUID
    title: Snippet
    updated_at: datetime


@dataclass
class SearchResults:
    query: ParsedQuery
    messages: list[MessageHit] = field(default_factory=list)
    titles: list[TitleHit] = field(default_factory=list)
    page: int = 1
    has_more: bool = False


def _words(text: str) -> list[str]:
    return [w[:MAX_WORD_CHARS].lower() for w in _WORD.findall(text)]


def parse_query(raw: str) -> ParsedQuery:
    """Words and "quoted phrases" from what the user typed; everything else is ignored.

    An unbalanced quote counts as a space. At most ``MAX_TERMS`` terms are kept.
    """
    raw = raw or ""
    truncated = len(raw) > MAX_QUERY_CHARS
    parts = raw[:MAX_QUERY_CHARS].split('"')
    if len(parts) % 2 == 0:  # an odd number of quotes: the last one opens nothing
        parts[-2:] = [parts[-2] + " " + parts[-1]]
    terms: list[Term] = []
    for index, part in enumerate(parts):
        words = _words(part)
        if index % 2 and len(words) > 1:
            candidates = [Term(tuple(words))]
        else:
            candidates = [Term((w,)) for w in words]
        for term in candidates:
            if term not in terms:
                terms.append(term)
    if len(terms) > MAX_TERMS:
        terms, truncated = terms[:MAX_TERMS], True
    return ParsedQuery(terms=terms, truncated=truncated)


def split_marks(marked: str) -> Snippet:
    """Text with match markers → (text, is_match) pieces; the template escapes each piece."""
    pieces: Snippet = []
    inside = False
    for chunk in re.split(f"([{MARK_OPEN}{MARK_CLOSE}])", marked or ""):
        if chunk == MARK_OPEN:
            inside = True
        elif chunk == MARK_CLOSE:
            inside = False
        elif chunk:
            pieces.append((chunk, inside))
    return pieces


def day_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """From/to days in the user's time zone → [start, end) in UTC (``end`` is inclusive)."""
    zone = get_timezone()

    def midnight(day: date) -> datetime:
        local = datetime.combine(day, time.min)
        aware = zone.localize(local) if hasattr(zone, "localize") else local.replace(tzinfo=zone)
        return aware

    return (
        midnight(start) if start else None,
        midnight(end + timedelta(days=1)) if end else None,
    )


def search(
    raw_query: str,
    persona: str | None = None,
    model: str | None = None,
    start: date | None = None,
    end: date | None = None,
    page: int = 1,
) -> SearchResults:
    """Chats whose title matches (first page only) and messages, best first."""
    parsed = parse_query(raw_query)
    page = min(max(page, 1), MAX_PAGE)
    results = SearchResults(query=parsed, page=page)
    if not parsed.terms:
        return results
    begin, finish = day_bounds(start, end)
    owner = current_user_id()
    filters = Filters(
        persona=persona or None, model=model or None, start=begin, end=finish, owner_id=owner
    )
    sql = for_dialect(db.engine.dialect.name)
    session = db.session

    ids = sql.messages(session, parsed.terms, filters, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    results.has_more = len(ids) > PAGE_SIZE and page < MAX_PAGE
    ids = ids[:PAGE_SIZE]
    snippets = sql.snippets(session, parsed.terms, ids)
    rows = session.execute(
        select(
            ChatMessage.id,
            ChatMessage.session_id,
            ChatMessage.role,
            ChatMessage.model,
            ChatMessage.persona,
            ChatMessage.timestamp,
            ChatSession.title,
        )
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .where(
            ChatMessage.id.in_(ids),
            ChatSession.kind == SessionKind.CHAT,  # not A Rinha's
            ChatSession.owner_id == owner,
        )
    ).all()
    by_id = {row.id: row for row in rows}
    for message_id in ids:
        row = by_id.get(message_id)
        if row is None:  # deleted between the two queries
            continue
        results.messages.append(
            MessageHit(
                message_id=row.id,
                chat_id=row.session_id,
                chat_title=row.title,
                role=row.role,
                model=row.model,
                persona=row.persona,
                timestamp=row.timestamp,
                snippet=split_marks(snippets.get(message_id, "")),
            )
        )

    if page == 1 and not (model or start or end):
        titles = sql.titles(session, parsed.terms, filters, TITLE_HITS)
        chat_ids = [uuid.UUID(chat_id) for chat_id, _ in titles]
        updated = dict(
            session.execute(
                select(ChatSession.id, ChatSession.updated_at).where(
                    ChatSession.id.in_(chat_ids), ChatSession.owner_id == owner
                )
            ).all()
        )
        for chat_id, (_, marked) in zip(chat_ids, titles, strict=True):
            if chat_id in updated:
                results.titles.append(TitleHit(chat_id, split_marks(marked), updated[chat_id]))
    return results


def filter_choices() -> tuple[list[str], list[str]]:
    """Personas and models to filter by: those configured now (a scan of a million messages
    for the ones ever used would cost more than the search itself)."""
    visible = visible_to(current_user_id())
    personas = db.session.scalars(
        select(Persona.name).where(visible).distinct().order_by(Persona.name)
    ).all()
    models: set[str] = set()
    for provider in db.session.scalars(select(Provider)):
        models.update(m for m in provider.models or [] if isinstance(m, str))
    return list(personas), sorted(models)
