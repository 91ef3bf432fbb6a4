"""Files attached to user messages: each content stored once, linked to the messages that
carry it.

``stored_files`` holds one row per content (its SHA-256 over the uploaded bytes): the bytes
served for download (for an image, the server's re-encoded copy, never the upload) and, for a
text file or PDF, the text sent to models, extracted once. The bytes live in the database,
like persona avatars: deleting a chat deletes them in the same transaction, backups and the
transfer to PostgreSQL copy them as table rows, and several server instances share them with
no shared disk. A file is at most 10 MB (``services.attachments``).

``message_files`` links a message to its files, with the name as uploaded and the order. A
file belongs to whoever owns the chat of a message linking it: links go with their message
(``ON DELETE CASCADE``), and a stored file no link refers to any more is deleted by
``services.attachments.forget_unlinked``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from calango.extensions import db
from calango.models.types import UTCDateTime, utcnow

FILE_NAME_MAX = 255


class FileKind:
    """What a stored file is to a model: text joined to the message, or an image."""

    TEXT = "text"
    IMAGE = "image"
    ALL = (TEXT, IMAGE)


class StoredFile(db.Model):
    """One file content, stored once whoever attached it and however often."""

    __tablename__ = "stored_files"
    __table_args__ = (UniqueConstraint("sha256", name="uq_stored_files_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)  # of ``data``
    # Images: the re-encoded picture's pixels (also the estimate of its tokens).
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # Text and PDF files: the text a model is sent (None for images).
    text: Mapped[str | None] = deferred(mapped_column(Text))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<StoredFile {self.id} {self.kind} {self.sha256[:12]}>"


class MessageFile(db.Model):
    """A file attached to a message: its name as uploaded and its place among the others."""

    __tablename__ = "message_files"
    __table_args__ = (
        UniqueConstraint("message_id", "position", name="uq_message_files_message_id_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("chat_messages.id", ondelete="CASCADE"))
    # Indexed: "does any link still refer to this file?" after a deletion.
    file_id: Mapped[int] = mapped_column(
        ForeignKey("stored_files.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(FILE_NAME_MAX))
    position: Mapped[int] = mapped_column(SmallInteger)

    file: Mapped[StoredFile] = relationship(lazy="joined", innerjoin=True)

    def __repr__(self) -> str:
        return f"<MessageFile {self.message_id}:{self.position} {self.name!r}>"
