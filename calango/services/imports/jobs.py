"""Big imports as background jobs: the upload is saved, a thread imports it, a page follows.

The request that receives the file returns at once (it must not hold a worker for the whole
import); the thread updates the job's row. Live byte counts are kept in this process and, on
PostgreSQL, written to the row about once a second from a separate connection (on SQLite the
import's transaction holds the only write lock, so the row is written at the start and end).
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import Flask, current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import update

from calango.extensions import db
from calango.models import ImportJob, JobStatus
from calango.models.types import utcnow
from calango.services.imports import ImportFileError, ImportSummary
from calango.services.imports.chatgpt import import_chatgpt
from calango.services.imports.chatgpt_parse import open_export

STALE_SECONDS = 60
WRITE_EVERY = 1.0

_live: dict[uuid.UUID, int] = {}  # job id -> bytes read, for jobs running in this process
_threads: dict[uuid.UUID, threading.Thread] = {}
_lock = threading.Lock()


@dataclass
class JobView:
    """What the page shows of a job."""

    job: ImportJob
    status: str
    percent: int
    summary: ImportSummary | None
    error: str | None

    @property
    def finished(self) -> bool:
        return self.status in JobStatus.FINAL


def _folder() -> Path:
    folder = Path(current_app.config["CALANGO_HOME"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def start_chatgpt_job(upload: IO[bytes], filename: str, owner_id: int) -> ImportJob:
    """Save the upload, check it is a ChatGPT export, and start importing it for
    ``owner_id`` in a thread (the job is theirs: only they see it).

    Raises :class:`ImportFileError` when the file is clearly not one (nothing is kept then).
    """
    job = ImportJob(id=uuid.uuid4(), kind="chatgpt", filename=filename[:255], owner_id=owner_id)
    try:
        path = _folder() / f"{job.id}.upload"
        with path.open("wb") as handle:
            shutil.copyfileobj(upload, handle, 1024 * 1024)
    except OSError as exc:
        current_app.logger.error("cannot save an upload: %s", exc)
        raise ImportFileError(
            _("The upload could not be saved on the server (is CALANGO_HOME writable?).")
        ) from None
    try:
        stream, size = open_export(path)
        stream.close()
    except (ImportFileError, OSError):
        path.unlink(missing_ok=True)
        raise
    job.total_bytes = size
    db.session.add(job)
    db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=_run,
        args=(app, job.id, path, str(get_locale() or "en"), owner_id),
        name=f"import-{job.id}",
    )
    with _lock:
        _live[job.id] = 0
        _threads[job.id] = thread
    thread.start()
    return job


def _run(app: Flask, job_id: uuid.UUID, path: Path, locale: str, owner_id: int) -> None:
    with app.app_context(), force_locale(locale):
        last_write = 0.0
        postgres = db.engine.dialect.name == "postgresql"

        def progress(count: int) -> None:
            nonlocal last_write
            with _lock:
                _live[job_id] = _live.get(job_id, 0) + count
                done = _live[job_id]
            now = time.monotonic()
            if postgres and now - last_write >= WRITE_EVERY:
                last_write = now
                with db.engine.begin() as connection:  # outside the import's transaction
                    connection.execute(
                        update(ImportJob.__table__)
                        .where(ImportJob.__table__.c.id == job_id)
                        .values(done_bytes=done, updated_at=utcnow())
                    )

        _finish(job_id, status=JobStatus.RUNNING)
        try:
            summary = import_chatgpt(path, progress, owner_id)
        except ImportFileError as exc:
            _finish(job_id, status=JobStatus.FAILED, error=exc.message)
        except Exception:
            app.logger.exception("import job %s failed", job_id)
            _finish(
                job_id,
                status=JobStatus.FAILED,
                error=_("The import failed unexpectedly. Nothing was imported."),
            )
        else:
            _finish(job_id, status=JobStatus.DONE, summary=summary.to_dict())
        finally:
            path.unlink(missing_ok=True)
            db.session.remove()
            with _lock:
                _live.pop(job_id, None)
                _threads.pop(job_id, None)


def _finish(job_id: uuid.UUID, **values: object) -> None:
    with _lock:
        done = _live.get(job_id)
    if done is not None:
        values["done_bytes"] = done
    db.session.execute(
        update(ImportJob).where(ImportJob.id == job_id).values(updated_at=utcnow(), **values)
    )
    db.session.commit()


def view(job: ImportJob) -> JobView:
    """The job as the page shows it; a running job nobody runs any more is reported failed."""
    with _lock:
        live = _live.get(job.id)
    status, error = job.status, job.error
    if live is not None:
        job.done_bytes = max(job.done_bytes, live)
    elif status not in JobStatus.FINAL:
        age = (utcnow() - job.updated_at).total_seconds()
        if db.engine.dialect.name == "sqlite" or age > STALE_SECONDS:
            status = JobStatus.FAILED
            error = _(
                "The import stopped (Calango was restarted?). Nothing was imported; "
                "upload the file again."
            )
    summary = ImportSummary.from_dict(job.summary) if job.summary else None
    percent = 100 if status == JobStatus.DONE else job.percent
    return JobView(job=job, status=status, percent=percent, summary=summary, error=error)


def wait_for_jobs(timeout: float = 30) -> None:
    """Wait until this process's import threads end (tests, shutdown)."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            threads = list(_threads.values())
        if not threads or time.monotonic() > deadline:
            return
        threads[0].join(max(0.0, deadline - time.monotonic()))
