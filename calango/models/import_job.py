"""Imports that run in the background while a page follows their progress."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from calango.extensions import db
from calango.models.owners import default_owner as _default_owner
from calango.models.types import UTCDateTime, utcnow


class JobStatus:
    """Lifecycle of an import job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    FINAL = (DONE, FAILED)


class ImportJob(db.Model):
    """One uploaded file being imported; the import's thread updates it, the page reads it."""

    __tablename__ = "import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Who imports (calango.accounts.current_user_id); their deletion deletes it.
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=_default_owner
    )
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    filename: Mapped[str] = mapped_column(String(255), default="")
    total_bytes: Mapped[int | None] = mapped_column(BigInteger)
    done_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # ImportSummary as {"imported": {...}, "present": {...}, "skipped": [...], "warnings": [...]}
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.kind} {self.status}>"

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        if not self.total_bytes:
            return 0
        return min(99, int(self.done_bytes * 100 / self.total_bytes))
