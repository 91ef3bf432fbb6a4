"""How an answer's events cross processes: PostgreSQL ``LISTEN/NOTIFY``, one listener per
process.

A producer publishes its end here, and each text delta once a follower in another process
has asked for its text (``request_text``, which every such follower sends when it starts; the
producer's reply, an empty piece when there is no text yet, tells it it was heard). Most
answers are followed in the process that writes them and cost no notification. Stop requests
go here too. Followers in this process subscribe to one message. On PostgreSQL a publisher
thread batches what producers published into one ``SELECT pg_notify(...), ...`` statement
per tick, on a connection of its own in autocommit, and one listener connection per process
(a thread, a greenlet under gevent) receives every notification and hands it to the local
followers of that message, or stops a local producer. Both threads run only while there is
something to do and exit when idle. On SQLite (desktop mode, one process) nothing crosses
processes: followers of another process fall back to reading the row, and producers in this
process are reached directly (``services.generation``).

A notification is small: PostgreSQL refuses payloads of 8000 bytes or more, so text is cut
into pieces of at most ``PIECE_CHARS`` characters (JSON-escaped, even the worst character
stays far below the limit). A follower that misses one (a gap in offsets) or whose listener
reconnected (``Resync``) asks the producer to publish the text again from its offset
(``request_text``), and reads the row, which holds it all once the answer has ended.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import secrets
import select
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from calango.extensions import db

log = logging.getLogger(__name__)

CHANNEL = "calango_answers"
PIECE_CHARS = 1000  # ≤ 6 bytes each once JSON-escaped: far below the 8000-byte payload limit
BATCH_SECONDS = 0.02  # the publisher gathers at most this long while busy
IDLE_SECONDS = 5.0  # the threads exit after this long with nothing to do
RECONNECT_SECONDS = 1.0
LISTEN_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class Piece:
    """Text received from another process: it starts at ``start`` in the answer."""

    start: int
    text: str


@dataclass(frozen=True)
class Ended:
    """The answer ended in another process with ``status`` (its row holds the rest)."""

    status: str


@dataclass(frozen=True)
class Resync:
    """Notifications may have been lost (the listener reconnected): read the row."""


BusEvent = Piece | Ended | Resync


class AnswerBus:
    """This process's side of the channel for ``app``'s database."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            self.engine = db.engine
        self.enabled = self.engine.dialect.name == "postgresql"
        self.token = secrets.token_hex(6)  # our own notifications come back: skip them
        self.lock = threading.Lock()
        self.followers: dict[int, list[queue.Queue[BusEvent]]] = {}
        self.producers: dict[int, Any] = {}  # message id → object with .stop()
        self.outbox: list[str] = []
        self.wake = threading.Event()
        self.listening = threading.Event()
        self._publisher: threading.Thread | None = None
        self._listener: threading.Thread | None = None

    # --- this process's followers and producers ---------------------------------------------

    def subscribe(self, message_id: int) -> queue.Queue[BusEvent]:
        """A queue of what other processes publish about ``message_id``."""
        events: queue.Queue[BusEvent] = queue.Queue()
        with self.lock:
            self.followers.setdefault(message_id, []).append(events)
        if self.enabled:
            self._ensure_listener()
            # What is published before our LISTEN is active would be lost: wait for it (only
            # the first follower of an idle process waits, one connection's time).
            self.listening.wait(LISTEN_WAIT_SECONDS)
        return events

    def unsubscribe(self, message_id: int, events: queue.Queue[BusEvent]) -> None:
        with self.lock:
            listeners = self.followers.get(message_id, [])
            if events in listeners:
                listeners.remove(events)
            if not listeners:
                self.followers.pop(message_id, None)

    def add_producer(self, message_id: int, producer: Any) -> None:
        """Listen for Stop of ``message_id`` requested in another process."""
        with self.lock:
            self.producers[message_id] = producer
        self._ensure_listener()

    def remove_producer(self, message_id: int) -> None:
        with self.lock:
            self.producers.pop(message_id, None)

    # --- publishing -----------------------------------------------------------------------

    def publish_text(self, message_id: int, start: int, chunk: str, always: bool = False) -> None:
        """Text a local producer received, for followers in other processes; ``always``: an
        empty piece too (the answer to ``request_text`` when there is no text yet)."""
        if not self.enabled or not (chunk or always):
            return
        payloads = [
            self._encode("d", message_id, o=start + i, t=chunk[i : i + PIECE_CHARS])
            for i in range(0, max(len(chunk), 1), PIECE_CHARS)
        ]
        self._post(payloads)

    def publish_end(self, message_id: int, status: str) -> None:
        """The answer's final state is committed."""
        if self.enabled:
            self._post([self._encode("e", message_id, s=status)])

    def request_text(self, message_id: int, start: int) -> None:
        """Ask the producer, wherever it runs, to publish the text again from ``start`` (a
        follower that joins mid-answer, or missed a piece: the row lags up to a second)."""
        if self.enabled:
            self._post([self._encode("q", message_id, o=start)])

    def publish_stop(self, message_id: int) -> None:
        """Stop was requested (and recorded in the row) here; its producer may be elsewhere."""
        if self.enabled:
            self._post([self._encode("s", message_id)])

    def _encode(self, kind: str, message_id: int, **fields: Any) -> str:
        return json.dumps({"k": kind, "m": message_id, "p": self.token, **fields})

    def _post(self, payloads: list[str]) -> None:
        with self.lock:
            self.outbox.extend(payloads)
            if self._publisher is None or not self._publisher.is_alive():
                self._publisher = threading.Thread(
                    target=self._publish_loop, name="calango-notify", daemon=True
                )
                self._publisher.start()
        self.wake.set()

    def _publish_loop(self) -> None:
        idle_since = time.monotonic()
        connection: Any = None
        try:
            while True:
                self.wake.wait(0.5)
                self.wake.clear()
                with self.lock:
                    batch, self.outbox = self.outbox, []
                    if not batch and time.monotonic() - idle_since > IDLE_SECONDS:
                        self._publisher = None
                        return
                if not batch:
                    continue
                idle_since = time.monotonic()
                connection = self._send(batch, connection)
                time.sleep(BATCH_SECONDS)  # gather what arrives meanwhile into the next statement
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):  # already gone
                    connection.close()

    def _send(self, batch: list[str], connection: Any) -> Any:
        """One ``SELECT pg_notify(...), ...`` for the whole batch, on the publisher's own
        connection (autocommit: one round trip, no pool checkout, ping or commit). Returns
        the connection for the next batch: a new one is opened after a failure."""
        calls = ", ".join(["pg_notify(%s, %s)"] * len(batch))
        params = [value for payload in batch for value in (CHANNEL, payload)]
        try:
            if connection is None:
                connection = self._connect(listen=False)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {calls}", params)
            return connection
        except Exception:  # followers catch up from the row; never lose the publisher
            log.exception("could not send %d notifications", len(batch))
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
            return None

    # --- listening ------------------------------------------------------------------------

    def _ensure_listener(self) -> None:
        if not self.enabled:
            return
        with self.lock:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(
                    target=self._listen_loop, name="calango-listen", daemon=True
                )
                self._listener.start()

    def _busy(self) -> bool:
        with self.lock:
            return bool(self.followers or self.producers)

    def _listen_loop(self) -> None:
        idle_since = time.monotonic()
        first = True
        while True:
            try:
                connection = self._connect()
            except Exception:
                log.warning("cannot listen for answers; retrying", exc_info=True)
                time.sleep(RECONNECT_SECONDS)
                with self.lock:
                    if not (self.followers or self.producers):
                        self._listener = None  # nobody waits: the next subscriber restarts it
                        return
                continue
            if not first:
                self._broadcast_resync()  # what was sent while disconnected is asked again
            first = False
            self.listening.set()
            try:
                while True:
                    if select.select([connection], [], [], 0.5) != ([], [], []):
                        connection.poll()
                        while connection.notifies:
                            self._dispatch(connection.notifies.pop(0).payload)
                    if self._busy():
                        idle_since = time.monotonic()
                    elif time.monotonic() - idle_since > IDLE_SECONDS:
                        with self.lock:
                            if not (self.followers or self.producers):
                                self._listener = None
                                self.listening.clear()
                                connection.close()
                                return
            except Exception:
                self.listening.clear()
                log.warning("lost the answer notifications connection; reconnecting", exc_info=True)
                with contextlib.suppress(Exception):  # already gone
                    connection.close()
                time.sleep(RECONNECT_SECONDS)

    def _connect(self, listen: bool = True) -> Any:
        """A connection of its own (outside the pool), in autocommit, listening unless
        ``listen`` is false (the publisher's)."""
        raw = self.engine.raw_connection()
        raw.detach()
        connection = raw.dbapi_connection
        connection.autocommit = True
        if listen:
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
        return connection

    def _broadcast_resync(self) -> None:
        with self.lock:
            listeners = [q for qs in self.followers.values() for q in qs]
        for events in listeners:
            events.put(Resync())

    def _dispatch(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            if data.get("p") == self.token:
                return
            kind, message_id = data["k"], int(data["m"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed answer notification")
            return
        if kind in ("s", "q"):
            with self.lock:
                producer = self.producers.get(message_id)
            if producer is not None and kind == "s":
                producer.stop()
            elif producer is not None:
                producer.resend(int(data["o"]), self)
            return
        event: BusEvent = (
            Piece(int(data["o"]), str(data["t"])) if kind == "d" else Ended(str(data["s"]))
        )
        with self.lock:
            listeners = list(self.followers.get(message_id, ()))
        for events in listeners:
            events.put(event)


_CREATING = threading.Lock()


def bus(app: Flask | None = None) -> AnswerBus:
    """This process's bus for ``app``."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("calango_answer_bus")
    if found is None:
        with _CREATING:  # two first users at once must share one bus (one listener)
            found = app.extensions.get("calango_answer_bus")
            if found is None:
                found = app.extensions["calango_answer_bus"] = AnswerBus(app)
    return found
