"""Configuration import/export page: upload or paste a YAML file, download the current one."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from calango.access import admin_required
from calango.import_export import bp
from calango.import_export.forms import ConfigExportForm, ConfigImportForm
from calango.services import config_io

EXPORT_FILENAME = "calango-config.yaml"


def _secrets_over_http() -> bool:
    # DESKTOP (SECRETS_OVER_HTTP in config.py): whoever reaches the page owns the machine.
    # SERVER: never, not even for an admin: a stored key never reaches a browser and a web
    # import never reads the server's environment (the CLI on the server may do both).
    return bool(current_app.config.get("SECRETS_OVER_HTTP"))


def _render(
    import_form: ConfigImportForm | None = None, export_form: ConfigExportForm | None = None
) -> str:
    return render_template(
        "import_export/index.html",
        import_form=import_form or ConfigImportForm(formdata=None),
        export_form=export_form or ConfigExportForm(formdata=None),
        secrets_over_http=_secrets_over_http(),
    )


def _download(text: str, private: bool) -> Response:
    response = Response(text, mimetype="text/yaml")
    response.headers["Content-Disposition"] = f'attachment; filename="{EXPORT_FILENAME}"'
    if private:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("")
@admin_required
def index() -> str:
    return _render()


@bp.post("/import")
@admin_required
def import_config() -> str | Response:
    form = ConfigImportForm()
    if not form.validate_on_submit():
        return _render(import_form=form)
    text = form.source_text()
    if text is None:
        return _render(import_form=form)
    try:
        result = config_io.import_config(text, read_environment=_secrets_over_http())
    except config_io.ConfigImportError as exc:
        target = form.file if form.file.data and form.file.data.filename else form.text
        target.errors = [*target.errors, _("Nothing was imported. %(error)s", error=exc.message)]
        return _render(import_form=form)
    flash(
        _(
            "Imported the configuration: %(created)d created, %(updated)d updated, "
            "%(unchanged)d unchanged.",
            created=len(result.created),
            updated=len(result.updated),
            unchanged=len(result.unchanged),
        ),
        "success",
    )
    for warning in result.warnings:
        flash(warning, "warning")
    return redirect(url_for("import_export.index"))


@bp.route("/export", methods=["GET", "POST"])
@admin_required
def export_config() -> str | Response:
    with_secrets = False
    if request.method == "POST":
        form = ConfigExportForm()
        if not form.validate_on_submit():
            return _render(export_form=form)
        if not _secrets_over_http():
            flash(
                _(
                    "This server does not export API keys from the web page. An administrator "
                    "can run “flask calango export-config --with-secrets” on the server."
                ),
                "error",
            )
            return redirect(url_for("import_export.index"))
        with_secrets = True
    try:
        text = config_io.export_config(with_secrets=with_secrets)
    except config_io.ConfigExportError as exc:
        flash(str(exc), "error")
        return redirect(url_for("import_export.index"))
    return _download(text, private=with_secrets)
