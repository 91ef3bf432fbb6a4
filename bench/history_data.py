"""The synthetic history of ``bench.history``: chats and messages written in bulk.

Text is drawn from a Zipf-distributed vocabulary (common Portuguese and English words first,
then invented ones), so that some words are in most messages and others in a few hundred,
as in real chats. Chat 0 is the long chat (``--long`` messages), chat 1 the short one (10);
the rest share the remaining messages, unevenly. Chats follow each other over two years and
message ids grow with time, as they do in use.

Rows go in through the driver's bulk paths — ``executemany`` on SQLite, ``COPY`` on
PostgreSQL — in large transactions. The search index is kept by the database itself: the
SQLite triggers fire for every row; on PostgreSQL the generated column is computed on COPY
and the GIN index is built once after the load (``CREATE INDEX`` after a bulk load is the
usual practice and ~3x faster than maintaining it row by row).
"""

from __future__ import annotations

import io
import itertools
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

COMMON_TEXT = (
    "de a o que e do da em um para com não uma os no se na por mais as dos como mas foi ao "
    "the of and to in is you that it for on with as are this be at or have from by not "
    "python código função erro dados ação exemplo pergunta resposta lista valor tabela "
    "model context token server request cache query index table value list file error"
)
COMMON = COMMON_TEXT.split()
SYLLABLE_TEXT = (
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga ge gi go la le li lo lu ma "
    "me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu "
    "va ve vi vo vu xa ze zi ção ões ão"
)
SYLLABLES = SYLLABLE_TEXT.split()
VOCABULARY_SIZE = 30_000
PERSONAS = ("Calango (Default)", "Python Expert")
MODELS = ("gpt-4o", "claude-sonnet", "gemini-flash", "llama3.1")
START = datetime(2024, 11, 1, tzinfo=UTC)


def vocabulary(rng: random.Random) -> list[str]:
    """COMMON, then invented words of 2–4 syllables, no duplicates."""
    words = list(dict.fromkeys(COMMON))
    seen = set(words)
    while len(words) < VOCABULARY_SIZE:
        word = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


@dataclass
class Plan:
    """How many messages each chat gets, and the vocabulary."""

    words: list[str]
    sizes: list[int]

    @property
    def total(self) -> int:
        return sum(self.sizes)


def plan(chats: int, messages: int, long_chat: int, seed: int = 14) -> Plan:
    """Chat 0 holds ``long_chat`` messages, chat 1 ten, the others the rest (uneven)."""
    rng = random.Random(seed)
    rest = messages - long_chat - 10
    extra = rest - 2 * (chats - 2)  # every chat has at least a question and an answer
    if extra < 0:
        raise SystemExit("--messages is too small for that many chats")
    weights = [rng.lognormvariate(0, 1) for _ in range(chats - 2)]
    scale = extra / sum(weights)
    sizes = [2 + int(w * scale) for w in weights]
    sizes[weights.index(max(weights))] += rest - sum(sizes)  # exact total
    return Plan(words=vocabulary(rng), sizes=[long_chat, 10, *sizes])


def _sentence(rng: random.Random, words: list[str], cum: list[float], n: int) -> str:
    return " ".join(rng.choices(words, cum_weights=cum, k=n))


def rows(p: Plan, seed: int = 14) -> Iterator[tuple[dict[str, Any], list[tuple[Any, ...]]]]:
    """(chat row, its message rows) in time order. Message tuples are
    (session_id, role, content, timestamp, model, persona)."""
    rng = random.Random(seed + 1)
    cum = list(itertools.accumulate(1 / rank for rank in range(1, len(p.words) + 1)))
    span = timedelta(days=730) / len(p.sizes)
    for index, size in enumerate(p.sizes):
        chat_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        start = START + span * index
        persona = PERSONAS[index % len(PERSONAS)]
        model = MODELS[index % len(MODELS)]
        step = span / (size + 1)
        messages = []
        for n in range(size):
            user = n % 2 == 0
            length = rng.randint(4, 20) if user else rng.randint(20, 80)
            text = _sentence(rng, p.words, cum, length)
            messages.append(
                (
                    chat_id,
                    "user" if user else "assistant",
                    text,
                    start + step * (n + 1),
                    None if user else model,
                    persona,
                )
            )
        title = " ".join(messages[0][2].split()[:6]) if messages else "chat"
        updated = messages[-1][3] if messages else start
        chat = {"id": chat_id, "title": title, "persona": persona, "created": start}
        chat["updated"] = updated
        yield chat, messages


def _naive(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


# Each message's parent is the one before it in its chat: the statement of the migration that
# made messages a tree (a3f1c9d2b7e4), so the loaded chats are single branches.
LINK_PARENTS = """
UPDATE chat_messages SET parent_id = (
    SELECT p.id FROM chat_messages AS p
    WHERE p.session_id = chat_messages.session_id
      AND (p.timestamp < chat_messages.timestamp
           OR (p.timestamp = chat_messages.timestamp AND p.id < chat_messages.id))
    ORDER BY p.timestamp DESC, p.id DESC
    LIMIT 1
)
"""


def link_parents(connection: Any) -> float:
    """Make every loaded chat one branch; returns the seconds it took."""
    started = time.perf_counter()
    cursor = connection.cursor()
    cursor.execute(LINK_PARENTS)
    connection.commit()
    return time.perf_counter() - started


def load_sqlite(connection: Any, p: Plan, meta: bool, batch: int = 50_000) -> None:
    """executemany in transactions of ``batch`` messages (the triggers index every row).
    ``meta``: the tables still have their ``metadata`` JSON column (filled with ``{}``)."""
    cursor = connection.cursor()
    chats: list[tuple[Any, ...]] = []
    messages: list[tuple[Any, ...]] = []
    extra, empty = (", metadata", ", '{}'") if meta else ("", "")

    def flush() -> None:
        cursor.executemany(
            f"INSERT INTO chat_sessions (id, title, persona, created_at, updated_at{extra})"
            f" VALUES (?, ?, ?, ?, ?{empty})",
            chats,
        )
        cursor.executemany(
            "INSERT INTO chat_messages (session_id, role, content, status, timestamp, model,"
            f" persona, stop_requested{extra}) VALUES (?, ?, ?, 'complete', ?, ?, ?, 0{empty})",
            messages,
        )
        connection.commit()
        chats.clear()
        messages.clear()

    for chat, rows_ in rows(p):
        chats.append(
            (chat["id"].hex, chat["title"], chat["persona"], _naive(chat["created"]),
             _naive(chat["updated"]))
        )  # fmt: skip
        messages.extend((m[0].hex, m[1], m[2], _naive(m[3]), m[4], m[5]) for m in rows_)
        if len(messages) >= batch:
            flush()
    flush()
    if not meta:
        print(f"linked parents in {link_parents(connection):.1f} s", flush=True)


def _copy(cursor: Any, table: str, columns: str, lines: list[str]) -> None:
    buffer = io.StringIO("".join(lines))
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


def load_postgresql(connection: Any, p: Plan, meta: bool, batch: int = 50_000) -> None:
    """COPY in transactions of ``batch`` messages; the GIN index is built after the load.
    ``meta``: the tables still have their ``metadata`` JSON column (filled with ``{}``)."""
    cursor = connection.cursor()
    cursor.execute("DROP INDEX IF EXISTS ix_chat_messages_search_vector")
    connection.commit()
    chats: list[str] = []
    messages: list[str] = []
    extra, empty = (", metadata", "\t{}") if meta else ("", "")

    def flush() -> None:
        _copy(cursor, "chat_sessions", f"id, title, persona, created_at, updated_at{extra}",
              chats)  # fmt: skip
        _copy(
            cursor,
            "chat_messages",
            f"session_id, role, content, status, timestamp, model, persona, stop_requested{extra}",
            messages,
        )
        connection.commit()
        chats.clear()
        messages.clear()

    for chat, rows_ in rows(p):
        chats.append(
            f"{chat['id']}\t{chat['title']}\t{chat['persona']}\t{_naive(chat['created'])}\t"
            f"{_naive(chat['updated'])}{empty}\n"
        )
        messages.extend(
            f"{m[0]}\t{m[1]}\t{m[2]}\tcomplete\t{_naive(m[3])}\t{m[4] or chr(92) + 'N'}\t"
            f"{m[5]}\tfalse{empty}\n"
            for m in rows_
        )
        if len(messages) >= batch:
            flush()
    flush()
    cursor.execute("SET maintenance_work_mem = '512MB'")
    cursor.execute(
        "CREATE INDEX ix_chat_messages_search_vector ON chat_messages USING gin (search_vector)"
    )
    cursor.execute("ANALYZE chat_messages")
    cursor.execute("ANALYZE chat_sessions")
    connection.commit()
    if not meta:
        print(f"linked parents in {link_parents(connection):.1f} s", flush=True)
        cursor.execute("ANALYZE chat_messages")
        connection.commit()
