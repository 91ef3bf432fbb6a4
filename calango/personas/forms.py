"""Forms for the persona pages."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy.sql.elements import ColumnElement
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from calango.forms import UniqueNameForm, name_field, strip_whitespace
from calango.models import Persona
from calango.models.persona import (
    DESCRIPTION_MAX,
    EMOJI_MAX,
    MODEL_MAX,
    PROMPT_MAX,
    STARTER_MAX,
    STARTERS_MAX,
    TRAIT_MAX,
    TRAITS_MAX,
)
from calango.services import parameters
from calango.services.personas import PersonaDetails

HATCH_DESCRIPTION_MAX = 300
# Characters an emoji is made of: symbols, modifiers, joiners, variation selectors, keycaps.
_EMOJI_CATEGORIES = {"So", "Sk", "Cf", "Mn", "Me"}


def split_traits(text: str) -> list[str]:
    """ "patient, precise; funny" → ["patient", "precise", "funny"] (empties dropped)."""
    return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]


def split_starters(text: str) -> list[str]:
    """One starter prompt per line (empties dropped)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _check_emoji(_form: Any, field: Any) -> None:
    value = field.data or ""
    if value and not all(
        unicodedata.category(c) in _EMOJI_CATEGORIES or c in "#*0123456789" for c in value
    ):
        raise ValidationError(_("Use an emoji (or leave it empty), not letters or words."))


def _check_traits(_form: Any, field: Any) -> None:
    traits = split_traits(field.data or "")
    if len(traits) > TRAITS_MAX:
        raise ValidationError(_("Give at most %(max)d traits.", max=TRAITS_MAX))
    if any(len(t) > TRAIT_MAX for t in traits):
        raise ValidationError(_("Keep each trait to %(max)d characters or fewer.", max=TRAIT_MAX))


def _check_starters(_form: Any, field: Any) -> None:
    starters = split_starters(field.data or "")
    if len(starters) > STARTERS_MAX:
        raise ValidationError(_("Give at most %(max)d starter prompts.", max=STARTERS_MAX))
    if any(len(s) > STARTER_MAX for s in starters):
        raise ValidationError(
            _("Keep each starter prompt to %(max)d characters or fewer.", max=STARTER_MAX)
        )


def _check_parameter(check: str) -> Any:
    def validator(form: Any, field: Any) -> None:
        values = {"temperature": None, "max_tokens": None, "effort": None, check: field.data}
        try:
            parameters.parse(**values)
        except parameters.InvalidParameters as exc:
            raise ValidationError(str(exc)) from None

    return validator


class PersonaForm(UniqueNameForm):
    """Everything a persona is: name, look, traits, prompt, starters and defaults."""

    name_model = Persona

    name = name_field(_l("Give the persona a name."))
    # Shown to admins only (SERVER mode): everyone may then pick it, only admins change it.
    is_shared = BooleanField(_l("Shared with every user"))
    description = StringField(
        _l("Short description"),
        filters=[strip_whitespace],
        validators=[
            Length(
                max=DESCRIPTION_MAX,
                message=_l("Keep the description to %(max)d characters or fewer."),
            )
        ],
        render_kw={"maxlength": DESCRIPTION_MAX},
    )
    avatar_emoji = StringField(
        _l("Avatar emoji"),
        filters=[strip_whitespace],
        validators=[
            Length(max=EMOJI_MAX, message=_l("Use a single emoji.")),
            _check_emoji,
        ],
        render_kw={"maxlength": EMOJI_MAX, "size": 4, "autocomplete": "off"},
    )
    avatar_file = FileField(
        _l("Avatar image"), render_kw={"accept": "image/png,image/jpeg,image/webp,image/gif"}
    )
    remove_image = BooleanField(_l("Remove the image"))
    traits = StringField(
        _l("Personality traits"),
        filters=[strip_whitespace],
        validators=[
            Length(max=TRAITS_MAX * (TRAIT_MAX + 2), message=_l("Too many traits.")),
            _check_traits,
        ],
        render_kw={"maxlength": TRAITS_MAX * (TRAIT_MAX + 2)},
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
    starters = TextAreaField(
        _l("Starter prompts"),
        filters=[strip_whitespace],
        validators=[
            Length(max=STARTERS_MAX * (STARTER_MAX + 2), message=_l("The starters are too long.")),
            _check_starters,
        ],
        render_kw={"rows": 4, "maxlength": STARTERS_MAX * (STARTER_MAX + 2)},
    )
    default_provider = SelectField(_l("Default provider"), validate_choice=False)
    default_model = StringField(
        _l("Default model"),
        filters=[strip_whitespace],
        validators=[Length(max=MODEL_MAX, message=_l("The model name is too long."))],
        render_kw={"maxlength": MODEL_MAX, "autocomplete": "off"},
    )
    temperature = StringField(
        _l("Temperature"),
        filters=[strip_whitespace],
        validators=[_check_parameter("temperature")],
        render_kw={"inputmode": "decimal", "maxlength": 8},
    )
    max_tokens = StringField(
        _l("Output limit (tokens)"),
        filters=[strip_whitespace],
        validators=[_check_parameter("max_tokens")],
        render_kw={"inputmode": "numeric", "maxlength": 7},
    )
    effort = SelectField(
        _l("Reasoning effort"),
        choices=[
            SelectChoice("", _l("Default")),
            SelectChoice("low", _l("Low")),
            SelectChoice("medium", _l("Medium")),
            SelectChoice("high", _l("High")),
        ],
        validators=[_check_parameter("effort")],
        validate_choice=False,
    )
    submit = SubmitField(_l("Save persona"))

    def __init__(self, *args: Any, owner_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner_id = owner_id  # whose names this one must differ from

    def name_scope(self) -> ColumnElement[bool] | None:
        return None if self.owner_id is None else Persona.owner_id == self.owner_id

    def name_taken_message(self, name: str) -> str:
        return _(
            "A persona named “%(name)s” already exists. Names must differ by more than case.",
            name=name,
        )

    def fill_from(self, persona: Persona) -> None:
        """Show a stored persona (list fields as text)."""
        self.traits.data = ", ".join(persona.traits or [])
        self.starters.data = "\n".join(persona.starters or [])
        self.default_provider.data = persona.default_provider or ""
        params = parameters.from_json(persona.params)
        self.temperature.data = "" if params.temperature is None else str(params.temperature)
        self.max_tokens.data = "" if params.max_tokens is None else str(params.max_tokens)
        self.effort.data = params.effort or ""

    def details(self, avatar_image: bytes | None) -> PersonaDetails:
        """What the form says besides name and prompt (call after validation)."""
        params = parameters.parse(self.temperature.data, self.max_tokens.data, self.effort.data)
        return PersonaDetails(
            description=self.description.data or "",
            avatar_emoji=self.avatar_emoji.data or "",
            traits=split_traits(self.traits.data or ""),
            starters=split_starters(self.starters.data or ""),
            default_provider=self.default_provider.data or "",
            default_model=self.default_model.data or "",
            params=params.as_json(),
            avatar_image=avatar_image,
            remove_image=bool(self.remove_image.data),
        )


class HatchForm(FlaskForm):
    """ "Describe who you want": one sentence and the model that proposes the persona."""

    description = TextAreaField(
        _l("Describe who you want"),
        filters=[strip_whitespace],
        validators=[
            DataRequired(_l("Describe the persona in a sentence.")),
            Length(
                max=HATCH_DESCRIPTION_MAX,
                message=_l("Keep the description to %(max)d characters or fewer."),
            ),
        ],
        render_kw={
            "rows": 2,
            "maxlength": HATCH_DESCRIPTION_MAX,
            "placeholder": _l("a patient Portuguese tutor who corrects my grammar"),
        },
    )
    # Grouped by provider; each value a "<provider id>:<model>" pair (as in the composer).
    model = SelectField(_l("Model"), validate_choice=False)
    submit = SubmitField(_l("Hatch"))
