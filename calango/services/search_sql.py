"""The full-text search SQL, one class per database; the only place that knows it.

Both take a query already reduced to safe terms (words and phrases of letters and digits,
built by ``calango.services.search``) and never see what the user typed. Values are bound,
never formatted into the SQL; the filter clauses are fixed strings.

Ranking is bounded: a common word can match most of a million messages, and ranking all of
them costs hundreds of milliseconds on either database. Both rank the ``CANDIDATES`` most
recent matches (after filters) and return the best of those, so the cost depends on the
page, not on the size of the history; rare words rank every match. PostgreSQL looks for a
phrase among the newest ``RECENT_WINDOW`` messages first (see ``_recent_phrase_hits``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from calango.models.types import UTCDateTime

CANDIDATES = 2000  # most recent matches ranked per query
RECENT_WINDOW = 20_000  # PostgreSQL phrases: newest messages looked through first
ENOUGH_RECENT = 200  # ...and how many matches there make the search stop there (10 pages)
# Private-use characters mark the matches in snippets. Whatever the text holds, the page
# escapes every character and only then turns marked spans into <mark>.
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
# ts_headline drops what its parser takes for HTML tags ("<b>", "<script>"); the snippet must
# show the text as written, so "<" is swapped for this character and back around it.
_LT = "\ue002"


@dataclass(frozen=True)
class Term:
    """One search term: a word, or a phrase (several words in a row)."""

    words: tuple[str, ...]


@dataclass
class Filters:
    """Optional restrictions, already validated (datetimes in UTC)."""

    persona: str | None = None
    model: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    owner_id: int | None = None  # only this user's chats


def _filter_sql(filters: Filters, alias: str, chats: bool = False) -> tuple[str, dict[str, Any]]:
    """The filter clauses on messages (``alias``) or, with ``chats``, on chat sessions."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.owner_id is not None:
        if chats:
            clauses.append(f"{alias}.owner_id = :owner")
        else:
            clauses.append(
                f"{alias}.session_id IN (SELECT id FROM chat_sessions WHERE owner_id = :owner)"
            )
        params["owner"] = filters.owner_id
    if filters.persona:
        clauses.append(f"{alias}.persona = :persona")
        params["persona"] = filters.persona
    if filters.model:
        clauses.append(f"{alias}.model = :model")
        params["model"] = filters.model
    if filters.start is not None:
        clauses.append(f'{alias}."timestamp" >= :start')
        params["start"] = filters.start
    if filters.end is not None:
        clauses.append(f'{alias}."timestamp" < :end')
        params["end"] = filters.end
    return "".join(f" AND {c}" for c in clauses), params


def _typed(sql: str, params: dict[str, Any]) -> Any:
    statement = text(sql)
    for name in ("start", "end"):
        if name in params:
            statement = statement.bindparams(bindparam(name, type_=UTCDateTime()))
    return statement


class SQLiteSearch:
    """FTS5: ``bm25()`` ranks (lower is better), ``snippet()`` / ``highlight()`` mark."""

    @staticmethod
    def match(terms: list[Term]) -> str:
        """The FTS5 query: every term a quoted string or phrase, all required."""
        # Every term is quoted: FTS5 reads it as a string (or phrase), never as syntax.
        return " ".join('"' + " ".join(t.words) + '"' for t in terms)

    def messages(
        self, db: Session, terms: list[Term], filters: Filters, limit: int, offset: int
    ) -> list[int]:
        """Ids of the matching messages, best first (a page of them)."""
        where, params = _filter_sql(filters, "m")
        join = " JOIN chat_messages m ON m.id = search_messages.rowid" if where else ""
        sql = f"""
            SELECT id FROM (
                SELECT search_messages.rowid AS id, bm25(search_messages) AS score
                FROM search_messages{join}
                WHERE search_messages MATCH :q{where}
                ORDER BY search_messages.rowid DESC LIMIT :candidates
            ) ORDER BY score, id DESC LIMIT :limit OFFSET :offset
        """
        params.update(q=self.match(terms), candidates=CANDIDATES, limit=limit, offset=offset)
        return [row[0] for row in db.execute(_typed(sql, params), params)]

    def snippets(self, db: Session, terms: list[Term], ids: list[int]) -> dict[int, str]:
        """A short excerpt of each message with the matches between MARK_OPEN/MARK_CLOSE."""
        if not ids:
            return {}
        sql = text(
            "SELECT rowid, snippet(search_messages, 0, :open, :close, '…', 24) "
            "FROM search_messages WHERE search_messages MATCH :q AND rowid IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        rows = db.execute(
            sql, {"q": self.match(terms), "open": MARK_OPEN, "close": MARK_CLOSE, "ids": ids}
        )
        return {row[0]: row[1] for row in rows}

    def titles(
        self, db: Session, terms: list[Term], filters: Filters, limit: int
    ) -> list[tuple[str, str]]:
        """(chat id as stored, marked title), best first."""
        where, params = _filter_sql(
            Filters(persona=filters.persona, owner_id=filters.owner_id), "s", chats=True
        )
        sql = f"""
            SELECT search_titles.chat_id, highlight(search_titles, 0, :open, :close)
            FROM search_titles JOIN chat_sessions s ON s.id = search_titles.chat_id
            WHERE search_titles MATCH :q AND s.kind = 'chat'{where}
            ORDER BY bm25(search_titles), s.updated_at DESC LIMIT :limit
        """
        params.update(q=self.match(terms), open=MARK_OPEN, close=MARK_CLOSE, limit=limit)
        return [(row[0], row[1]) for row in db.execute(text(sql), params)]


class PostgreSQLSearch:
    """tsvector + GIN with the ``calango_search`` configuration (``simple`` + ``unaccent``):
    ``ts_rank`` ranks, ``ts_headline`` marks the original (accented) text."""

    CONFIG = "calango_search"

    def query_sql(self, terms: list[Term], params: dict[str, Any]) -> str:
        """The tsquery expression (all terms required); binds each term into ``params``."""
        # phraseto_tsquery parses a bound value: no tsquery syntax from the user survives.
        parts = []
        for i, term in enumerate(terms):
            params[f"t{i}"] = " ".join(term.words)
            parts.append(f"phraseto_tsquery('{self.CONFIG}', :t{i})")
        return " && ".join(parts)

    def messages(
        self, db: Session, terms: list[Term], filters: Filters, limit: int, offset: int
    ) -> list[int]:
        """Ids of the matching messages, best first (a page of them)."""
        if any(len(term.words) > 1 for term in terms):
            found = self._recent_phrase_hits(db, terms, filters, limit, offset)
            if found is not None:
                return found
        where, params = _filter_sql(filters, "m")
        query = self.query_sql(terms, params)
        # The tsquery is written inline (never in a CTE): phraseto_tsquery(regconfig, text) is
        # immutable, so the planner folds it to a constant and estimates how common the words
        # are. A common word then walks the primary key newest-first and stops after
        # CANDIDATES matches; a rare one reads the GIN index. A phrase that got here is rare
        # among the recent messages: "+ 0" keeps the planner off that walk (it would read
        # every row), so it reads the index and checks the rows holding all the words.
        order = "m.id + 0" if any(len(term.words) > 1 for term in terms) else "m.id"
        sql = f"""
            SELECT hits.id FROM (
                SELECT m.id, m.search_vector FROM chat_messages m
                WHERE m.search_vector @@ ({query}){where}
                ORDER BY {order} DESC LIMIT :candidates
            ) AS hits
            ORDER BY ts_rank(hits.search_vector, ({query})) DESC, hits.id DESC
            LIMIT :limit OFFSET :offset
        """
        params.update(candidates=CANDIDATES, limit=limit, offset=offset)
        return [row[0] for row in db.execute(_typed(sql, params), params)]

    def _recent_phrase_hits(
        self, db: Session, terms: list[Term], filters: Filters, limit: int, offset: int
    ) -> list[int] | None:
        """Phrases: the GIN index has no word positions, so a phrase of common words costs a
        check of every row holding them all. First look among the newest
        ``RECENT_WINDOW`` messages (a bounded walk); when at least ``ENOUGH_RECENT`` match
        there, those are the candidates. None: too few, search everything."""
        where, params = _filter_sql(filters, "r")
        query = self.query_sql(terms, params)
        sql = f"""
            SELECT hits.id, count(*) OVER () FROM (
                SELECT r.id, r.search_vector FROM (
                    SELECT id, session_id, search_vector, persona, model, "timestamp"
                    FROM chat_messages
                    ORDER BY id DESC LIMIT :window
                ) AS r
                WHERE r.search_vector @@ ({query}){where}
                ORDER BY r.id DESC LIMIT :candidates
            ) AS hits
            ORDER BY ts_rank(hits.search_vector, ({query})) DESC, hits.id DESC
            LIMIT :limit OFFSET :offset
        """
        params.update(window=RECENT_WINDOW, candidates=CANDIDATES, limit=limit, offset=offset)
        rows = db.execute(_typed(sql, params), params).all()
        # Every page of a search takes the same path: with ENOUGH_RECENT recent matches, any
        # page up to the last one (offset < ENOUGH_RECENT) has rows.
        if not rows or rows[0][1] < ENOUGH_RECENT:
            return None
        return [row[0] for row in rows]

    def snippets(self, db: Session, terms: list[Term], ids: list[int]) -> dict[int, str]:
        """A short excerpt of each message with the matches between MARK_OPEN/MARK_CLOSE."""
        if not ids:
            return {}
        params: dict[str, Any] = {}
        query = self.query_sql(terms, params)
        options = (
            f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, MaxWords=30, MinWords=12, "
            'MaxFragments=2, FragmentDelimiter=" … "'
        )
        sql = text(
            f"SELECT m.id, ts_headline('{self.CONFIG}', replace(m.content, '<', :lt), "
            f"{query}, :options) FROM chat_messages m WHERE m.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        params.update(options=options, ids=ids, lt=_LT)
        return {row[0]: row[1].replace(_LT, "<") for row in db.execute(sql, params)}

    def titles(
        self, db: Session, terms: list[Term], filters: Filters, limit: int
    ) -> list[tuple[str, str]]:
        """(chat id as text, marked title), best first."""
        where, params = _filter_sql(
            Filters(persona=filters.persona, owner_id=filters.owner_id), "s", chats=True
        )
        query = self.query_sql(terms, params)
        options = f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}, HighlightAll=true"
        sql = f"""
            SELECT s.id::text,
                ts_headline('{self.CONFIG}', replace(s.title, '<', :lt), ({query}), :options)
            FROM chat_sessions s WHERE s.search_vector @@ ({query}) AND s.kind = 'chat'{where}
            ORDER BY ts_rank(s.search_vector, ({query})) DESC, s.updated_at DESC LIMIT :limit
        """
        params.update(options=options, limit=limit, lt=_LT)
        return [(row[0], row[1].replace(_LT, "<")) for row in db.execute(text(sql), params)]


def for_dialect(name: str) -> SQLiteSearch | PostgreSQLSearch:
    """The search SQL of the database in use."""
    if name == "postgresql":
        return PostgreSQLSearch()
    return SQLiteSearch()
