"""Forms of the data page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SubmitField


class LegacyUploadForm(FlaskForm):
    """The original Calango's calango.json, uploaded."""

    file = FileField(
        _l("The original Calango's file (calango.json)"),
        validators=[FileRequired(_l("Choose the calango.json file to import."))],
    )
    submit = SubmitField(_l("Import the history"))


class ExportUploadForm(FlaskForm):
    """A file made by "Export everything" (or a chat's JSON download)."""

    file = FileField(
        _l("A Calango export (JSON)"),
        validators=[FileRequired(_l("Choose the export file to import."))],
    )
    submit = SubmitField(_l("Import the export"))


class ChatGPTUploadForm(FlaskForm):
    """ChatGPT's data export: the .zip it is mailed as, or conversations.json from it."""

    file = FileField(
        _l("ChatGPT's export (.zip or conversations.json)"),
        validators=[FileRequired(_l("Choose the ChatGPT export to import."))],
    )
    submit = SubmitField(_l("Import from ChatGPT"))


class ConfirmForm(FlaskForm):
    """A button that only needs its CSRF token (the one-click import)."""

    submit = SubmitField(_l("Import"))
