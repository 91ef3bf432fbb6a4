"""ChatGPT's export: the upload starts a background import, and a page follows it (it
refreshes itself without JavaScript; static/js/import-job.js polls with it)."""

from __future__ import annotations

import uuid

from flask import abort, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from calango.accounts import current_user_id
from calango.data import bp
from calango.data.forms import ChatGPTUploadForm
from calango.data.routes import MAX_FILE_NAME, render_page
from calango.extensions import db
from calango.models import ImportJob
from calango.services.imports import ImportFileError
from calango.services.imports import jobs as job_service


@bp.post("/import-chatgpt")
def import_chatgpt() -> Response | tuple[str, int]:
    form = ChatGPTUploadForm()
    if not form.validate_on_submit():
        return render_page(chatgpt_form=form, status=400)
    upload = form.file.data
    name = (upload.filename or "conversations.json")[:MAX_FILE_NAME]
    try:
        job = job_service.start_chatgpt_job(upload.stream, name, current_user_id())
    except ImportFileError as exc:
        message = _("%(source)s: %(error)s Nothing was imported.", source=name, error=exc)
        return render_page(chatgpt_form=form, error=message, status=400)
    return redirect(url_for("data.job", job_id=job.id), code=303)


def _job_or_404(job_id: uuid.UUID) -> ImportJob:
    """The current user's import job; another user's is as missing as an unknown one."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.owner_id != current_user_id():
        abort(404, description=_("This import does not exist."))
    return job


@bp.get("/jobs/<uuid:job_id>")
def job(job_id: uuid.UUID) -> str:
    return render_template("data/job.html", view=job_service.view(_job_or_404(job_id)))


@bp.get("/jobs/<uuid:job_id>.json")
def job_status(job_id: uuid.UUID) -> Response:
    view = job_service.view(_job_or_404(job_id))
    return jsonify(status=view.status, percent=view.percent, finished=view.finished)
