"""Forms for the persona pages."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from calango.forms import strip_whitespace
from calango.services.personas import NAME_MAX, PROMPT_MAX, name_taken


def name_taken_message(name: str) -> str:
    """The error shown beside the name when another persona has it."""
    return _(
        "A persona named “%(name)s” already exists. Names must differ by more than case.",
        name=name,
    )


class PersonaForm(FlaskForm):
    """Name and system prompt of a persona.

    ``persona_id`` is the persona being edited (None when creating), so that it may keep its
    own name or change only its case.
    """

    name = StringField(
        _l("Name"),
        filters=[strip_whitespace],
        validators=[
            DataRequired(_l("Give the persona a name.")),
            Length(max=NAME_MAX, message=_l("Keep the name to %(max)d characters or fewer.")),
        ],
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )
    prompt = TextAreaField(
        _l("System prompt"),
        filters=[strip_whitespace],
        validators=[
            DataRequired(_l("Write the instructions the model should follow.")),
            Length(max=PROMPT_MAX, message=_l("Keep the prompt to %(max)d characters or fewer.")),
        ],
        render_kw={"rows": 12, "maxlength": PROMPT_MAX},
    )
    submit = SubmitField(_l("Save persona"))

    def __init__(self, *args: Any, persona_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.persona_id = persona_id

    def validate_name(self, field: Field) -> None:
        # Checked here as well as in the service, so it is reported together with the other
        # errors; the service's check still guards the write.
        if field.data and name_taken(field.data, exclude_id=self.persona_id):
            raise ValidationError(name_taken_message(field.data))
