"""Forms of A Rinha's pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice

from calango.models.arena import MAX_CONTENDERS
from calango.services.arena import ContenderChoice
from calango.services.arena_leaderboard import PERIODS
from calango.services.composer import ComposerOptions, model_value

_PROMPT_ATTRS = {"rows": 3, "placeholder": _l("The prompt every contender answers…")}


class ContenderForm(Form):
    """One contender: a (provider, model) pair and, optionally, its own persona."""

    model = SelectField(_l("Model"), validate_choice=False)
    persona = SelectField(_l("Persona"), validate_choice=False)


class RoundForm(FlaskForm):
    """A new round. The service checks the prompt and the number of contenders and says what
    to fix; the form carries the values."""

    contenders = FieldList(FormField(ContenderForm), min_entries=MAX_CONTENDERS,
                           max_entries=MAX_CONTENDERS)  # fmt: skip
    persona = SelectField(_l("Persona for every contender"), validate_choice=False)
    blind = BooleanField(_l("Blind: random column order, names hidden until you vote"))
    prompt = TextAreaField(_l("Prompt"), render_kw=_PROMPT_ATTRS)
    submit = SubmitField(_l("Start the round"))

    def offer(self, options: ComposerOptions, last: dict[str, Any]) -> None:
        """Fill the menus (models grouped by provider, personas by id); preselect ``last``."""
        models = {p.name: [(model_value(p.id, m), m) for m in p.models] for p in options.providers}
        personas = [(str(p.id), p.name) for p in options.personas]
        self.persona.choices = [("", _l("No persona")), *personas]
        for index, entry in enumerate(self.contenders):
            empty = _l("— none —") if index >= 2 else _l("— pick a model —")
            entry.form.model.choices = {"": [("", empty)], **models}
            entry.form.persona.choices = [("", _l("Same as the round")), *personas]
        if self.is_submitted():
            return
        values = [v for v in last.get("models", []) if isinstance(v, str)]
        if not values:  # the first round: the first models offered
            values = [v for group in models.values() for v, _label in group][:2]
        chosen = [p if isinstance(p, int) else None for p in last.get("personas", [])]
        common = set(chosen) if chosen else set()
        round_persona = next(iter(common)) if len(common) == 1 else None
        self.persona.data = str(round_persona) if round_persona is not None else ""
        for index, entry in enumerate(self.contenders):
            entry.form.model.data = values[index] if index < len(values) else ""
            own = chosen[index] if index < len(chosen) else None
            entry.form.persona.data = "" if own == round_persona or own is None else str(own)
        self.blind.data = bool(last.get("blind"))

    def choices(self) -> list[ContenderChoice]:
        """The contenders picked (rows left empty are skipped), each with its persona."""
        result = []
        for entry in self.contenders:
            value = (entry.form.model.data or "").strip()
            if not value:
                continue
            persona = entry.form.persona.data or self.persona.data or ""
            # At most 9 digits: any larger number is no row id (PostgreSQL's integer).
            persona_id = int(persona) if persona.isdigit() and len(persona) <= 9 else None
            result.append(ContenderChoice(value[:300], persona_id))
        return result


class FollowUpForm(FlaskForm):
    """A follow-up prompt for every contender still in the round."""

    prompt = TextAreaField(
        _l("Follow-up"), render_kw={"rows": 2, "placeholder": _l("Ask all contenders a follow-up…")}
    )
    submit = SubmitField(_l("Ask all"))


class VoteForm(FlaskForm):
    """A vote: ``winner:<slot>``, ``tie`` or ``all_bad`` (the buttons' values)."""

    outcome = SelectField(validate_choice=False)


class LeaderboardForm(FlaskForm):
    """The leaderboard's filters (GET: nothing changes, no CSRF)."""

    class Meta:
        csrf = False

    period = SelectField(
        _l("Period"),
        choices=[
            SelectChoice("all", _l("All time")),
            SelectChoice("30", _l("Last 30 days")),
            SelectChoice("7", _l("Last 7 days")),
        ],
        default="all",
    )
    persona = SelectField(_l("Persona"), default="", validate_choice=False)

    def offer(self, personas: list[str]) -> None:
        self.persona.choices = [("", _l("Any persona"))] + [(p, p) for p in personas]
        if self.period.data not in PERIODS:
            self.period.data = "all"
        if self.persona.data not in personas:
            self.persona.data = ""
