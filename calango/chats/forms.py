"""Forms for the chat pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from calango.forms import strip_whitespace
from calango.models.chat import TITLE_MAX
from calango.services.composer import ComposerChoice, ComposerOptions, model_value


class MessageForm(FlaskForm):
    """The composer. Emptiness, length, provider and model are checked by the chat service,
    which knows the limits and says what to fix; the form only carries the values."""

    provider = SelectField(_l("Provider"), validate_choice=False)
    model = SelectField(_l("Model"), validate_choice=False)
    persona = SelectField(_l("Persona"), validate_choice=False)
    content = TextAreaField(
        _l("Message"),
        render_kw={
            "rows": 3,
            # Without the script Enter adds a line: the script sets data-enter-placeholder.
            "placeholder": _l("Ask anything…"),
            "data-enter-placeholder": _l("Ask anything… (Enter sends, Shift+Enter adds a line)"),
        },
    )
    # Model parameters and the profile toggle: checked by the send (services.parameters).
    temperature = StringField(
        _l("Temperature"), render_kw={"inputmode": "decimal", "maxlength": 8, "size": 5}
    )
    max_tokens = StringField(
        _l("Output limit (tokens)"), render_kw={"inputmode": "numeric", "maxlength": 7, "size": 7}
    )
    # The chat's spending cap in USD (services.spend_cap); blank follows the default cap.
    spend_cap = StringField(
        _l("Spending cap (US$)"), render_kw={"inputmode": "decimal", "maxlength": 12, "size": 8}
    )
    effort = SelectField(
        _l("Reasoning effort"),
        choices=[
            SelectChoice("", _l("Default")),
            SelectChoice("low", _l("Low")),
            SelectChoice("medium", _l("Medium")),
            SelectChoice("high", _l("High")),
        ],
        validate_choice=False,
    )
    profile = BooleanField(_l("Send my profile"))
    # Hidden fields get an empty label: a default one would be translated as the form is
    # made, reading the language before the send's first statement primes it.
    profile_offered = HiddenField("")
    # Text files, PDFs and images (checked by services.file_intake, not by the browser).
    files = MultipleFileField(_l("Attach files"))
    # A starter prompt's button (on an empty chat) posts its text here.
    starter = HiddenField("")
    submit = SubmitField(_l("Send"))

    def offer(self, options: ComposerOptions, choice: ComposerChoice) -> None:
        """Fill the selects from what is configured and preselect ``choice``."""
        self.provider.choices = [(p.name, p.name) for p in options.providers]
        # Grouped by provider, each value a (provider, model) pair: two providers may offer
        # the same model name. The script shows only the chosen provider's group.
        self.model.choices = {
            p.name: [(model_value(p.id, m), m) for m in p.models] for p in options.providers
        }
        # The avatar's emoji before the name: a menu option cannot show an image.
        self.persona.choices = [
            (p.name, f"{p.avatar_emoji} {p.name}" if p.avatar_emoji else p.name)
            for p in options.personas
        ]
        if not self.is_submitted():
            self.provider.data = choice.provider
            self.model.data = choice.model_value
            self.persona.data = choice.persona


class RenameForm(FlaskForm):
    title = StringField(
        _l("Title"),
        filters=[strip_whitespace],
        validators=[
            DataRequired(_l("Give the chat a title.")),
            Length(max=TITLE_MAX, message=_l("Keep the title to %(max)d characters or fewer.")),
        ],
        render_kw={"maxlength": TITLE_MAX, "autocomplete": "off"},
    )
    submit = SubmitField(_l("Rename"))


class SearchForm(FlaskForm):
    """The sidebar's search box and the filters of the results page (GET: no CSRF, nothing
    changes). Bad values never fail the search: they are dropped and reported."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Search"),
        filters=[strip_whitespace],
        render_kw={"placeholder": _l("Search chats…"), "type": "search", "maxlength": 500},
    )
    persona = SelectField(_l("Persona"), default="")
    model = SelectField(_l("Model"), default="")
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=10)])

    def offer(self, personas: list[str], models: list[str]) -> None:
        """Filter choices: the personas and models configured now."""
        self.persona.choices = [("", _l("Any persona"))] + [(p, p) for p in personas]
        self.model.choices = [("", _l("Any model"))] + [(m, m) for m in models]
