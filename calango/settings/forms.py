"""Forms for the settings pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired

from calango.i18n import LANGUAGE_NAMES
from calango.themes import THEMES

FOLLOW_BROWSER = ""


class AppearanceForm(FlaskForm):
    """Theme and language. An empty language means "follow the browser"."""

    # validate_choice=False: AnyOf below gives the message, in words the user understands.
    theme = RadioField(
        _l("Theme"),
        choices=[SelectChoice(theme_id, label) for theme_id, label in THEMES.items()],
        validate_choice=False,
        validators=[
            InputRequired(_l("Choose a theme.")),
            AnyOf(list(THEMES), message=_l("Choose one of the themes shown.")),
        ],
    )
    language = RadioField(
        _l("Language"),
        # Language names stay in their own language, so anyone can find theirs.
        choices=[
            SelectChoice(FOLLOW_BROWSER, _l("Follow the browser")),
            *(SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()),
        ],
        default=FOLLOW_BROWSER,
        validate_choice=False,
        validators=[
            AnyOf(
                [FOLLOW_BROWSER, *LANGUAGE_NAMES],
                message=_l("Choose one of the languages shown."),
            )
        ],
    )
    submit = SubmitField(_l("Save"))
