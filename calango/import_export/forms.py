"""Forms for the configuration import/export page."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SubmitField, TextAreaField
from wtforms.validators import DataRequired

from calango.services.config_errors import ConfigImportError


def upload_size(upload: Any) -> int:
    """The uploaded file's size in bytes, without reading it into memory."""
    stream = upload.stream
    stream.seek(0, 2)
    return int(stream.tell())


class ConfigImportForm(FlaskForm):
    """A configuration file, uploaded or pasted."""

    file = FileField(_l("Configuration file (YAML)"))
    text = TextAreaField(
        _l("…or paste its contents"), render_kw={"rows": 10, "spellcheck": "false"}
    )
    submit = SubmitField(_l("Import"))

    def source_text(self) -> str | None:
        """The uploaded file's text, else the pasted text; errors are added to the fields."""
        from calango.services.config_yaml import MAX_CONFIG_BYTES, check_size

        upload = self.file.data
        if upload is not None and getattr(upload, "filename", ""):
            raw = upload.read(MAX_CONFIG_BYTES + 1)  # never more than the limit in memory
            try:
                check_size(len(raw) if len(raw) <= MAX_CONFIG_BYTES else upload_size(upload))
            except ConfigImportError as exc:
                self.file.errors = [_("Nothing was imported. %(error)s", error=exc.message)]
                return None
            try:
                return raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                self.file.errors = [_("The file is not UTF-8 text. Save it as UTF-8 and retry.")]
                return None
        if self.text.data and self.text.data.strip():
            return self.text.data
        self.file.errors = [_("Choose a file or paste the configuration below.")]
        return None


class ConfigExportForm(FlaskForm):
    """Downloading the configuration with its API keys in clear needs an explicit yes."""

    with_secrets = BooleanField(
        _l("I understand the file will contain my API keys in clear text"),
        validators=[DataRequired(_l("Tick the box to include the API keys."))],
    )
    submit = SubmitField(_l("Download with API keys"))
