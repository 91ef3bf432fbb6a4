"""The data page: import the original Calango's file (upload, or the one in CALANGO_HOME)."""

from __future__ import annotations

from flask import Response, abort, current_app, render_template, request
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _

from calango.accounts import current_user_id
from calango.data import bp
from calango.data.chat_export import download
from calango.data.forms import ChatGPTUploadForm, ConfirmForm, ExportUploadForm, LegacyUploadForm
from calango.models.types import utcnow
from calango.services.exports.export import export_all
from calango.services.imports import ImportFileError, ImportSummary, legacy
from calango.services.imports.calango_export import import_calango_export
from calango.services.imports.legacy_parse import MAX_BYTES

MAX_FILE_NAME = 120


def render_page(
    legacy_form: LegacyUploadForm | None = None,
    export_form: ExportUploadForm | None = None,
    chatgpt_form: ChatGPTUploadForm | None = None,
    summary: ImportSummary | None = None,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The data page, with the summary or the error of the import just made."""
    home_file = legacy.default_path() if _desktop() else None
    return render_template(
        "data/index.html",
        legacy_form=legacy_form or LegacyUploadForm(formdata=None),
        export_form=export_form or ExportUploadForm(formdata=None),
        chatgpt_form=chatgpt_form or ChatGPTUploadForm(formdata=None),
        home_form=ConfirmForm(formdata=None),
        home_file=home_file if home_file and home_file.is_file() else None,
        summary=summary,
        error=error,
    ), status


def _larger_uploads() -> None:
    # Imports may be far larger than a chat message; werkzeug spools them to disk.
    if request.blueprint == bp.name:
        request.max_content_length = current_app.config.get("MAX_IMPORT_BYTES")


@bp.record_once
def _install_upload_limit(state: BlueprintSetupState) -> None:
    # Before every other hook: the CSRF check reads the form, and the limit must apply then.
    state.app.before_request_funcs.setdefault(None, []).insert(0, _larger_uploads)


@bp.context_processor
def _subnav_context() -> dict[str, object]:
    # The settings sub-navigation shows the links whose endpoints exist.
    return {"current_app": current_app}


def _desktop() -> bool:
    return current_app.config.get("MODE") == "DESKTOP"


@bp.get("/")
def index() -> tuple[str, int]:
    return render_page()


def _run_legacy(raw: bytes, source: str, form: LegacyUploadForm | None) -> tuple[str, int]:
    try:
        summary = legacy.import_legacy(raw, current_user_id())
    except ImportFileError as exc:
        message = _("%(source)s: %(error)s Nothing was imported.", source=source, error=exc)
        return render_page(legacy_form=form, error=message, status=400)
    return render_page(summary=summary)


@bp.post("/import-tinydb")
def import_tinydb() -> tuple[str, int]:
    form = LegacyUploadForm()
    if not form.validate_on_submit():
        return render_page(legacy_form=form, status=400)
    upload = form.file.data
    name = (upload.filename or "calango.json")[:MAX_FILE_NAME]
    # One byte more than the limit is enough to refuse a file too big to be one.
    return _run_legacy(upload.stream.read(MAX_BYTES + 1), name, form)


@bp.post("/import-tinydb/home")
def import_tinydb_home() -> tuple[str, int]:
    """The one-click import of calango.json in CALANGO_HOME (chat page, first run)."""
    if not _desktop():
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_page(status=400)
    path = legacy.default_path()
    try:
        raw = path.read_bytes()
    except OSError:
        return render_page(
            error=_("%(path)s cannot be read. Nothing was imported.", path=str(path)), status=400
        )
    return _run_legacy(raw, str(path), None)


@bp.get("/export.json")
def export_everything() -> Response:
    """Everything as one JSON file, streamed."""
    filename = f"calango-export-{utcnow():%Y%m%d-%H%M%S}.json"
    return download(export_all(current_user_id()), "application/json", filename)


@bp.post("/import-all")
def import_all() -> tuple[str, int]:
    form = ExportUploadForm()
    if not form.validate_on_submit():
        return render_page(export_form=form, status=400)
    upload = form.file.data
    name = (upload.filename or "export.json")[:MAX_FILE_NAME]
    try:
        summary = import_calango_export(upload.stream, owner_id=current_user_id())
    except ImportFileError as exc:
        message = _("%(source)s: %(error)s Nothing was imported.", source=name, error=exc)
        return render_page(export_form=form, error=message, status=400)
    return render_page(summary=summary)
