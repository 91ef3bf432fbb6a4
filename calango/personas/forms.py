"""Forms for the persona pages."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from calango.forms import UniqueNameForm, name_field, strip_whitespace
from calango.models import Persona
from calango.models.persona import PROMPT_MAX


class PersonaForm(UniqueNameForm):
    """Name and system prompt of a persona."""

    name_model = Persona

    name = name_field(_l("Give the persona a name."))
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

    def name_taken_message(self, name: str) -> str:
        return _(
            "A persona named “%(name)s” already exists. Names must differ by more than case.",
            name=name,
        )
