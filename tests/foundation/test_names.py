"""The one name rule for providers and personas, on both databases.

SQLite's lower() folds only ASCII; the rule lives in Python (normalize_name) and in a unique
name_key column, so the database itself refuses a second "çaju" beside "ÇAJU".
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from calango.extensions import db
from calango.models import Persona, Provider
from calango.models.names import normalize_name
from calango.services import personas as persona_service
from calango.services import providers as provider_service
from calango.services.config_io import ConfigImportError, import_config
from calango.services.names import NameTaken


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("ÇAJU", "çaju"),
        ("água viva", "ÁGUA VIVA"),
        ("Água Viva", "  água   viva "),
        ("Straße", "STRASSE"),
        ("ﬁlm", "FILM"),  # a ligature is the letters it stands for
        ("Ipê", "Ipe\u0302"),  # composed and decomposed accents
    ],
)
def test_names_that_are_the_same_name(one, other):
    assert normalize_name(one) == normalize_name(other)


@pytest.mark.parametrize(("one", "other"), [("agua viva", "água viva"), ("Groq", "Groq 2")])
def test_names_that_differ(one, other):
    assert normalize_name(one) != normalize_name(other)


@pytest.mark.parametrize("model", [Provider, Persona])
def test_the_database_refuses_a_second_row_with_the_same_name(app_ctx, model):
    fields = {"kind": "openai"} if model is Provider else {"prompt": "p"}
    db.session.add(model(name="ÇAJU", **fields))
    db.session.commit()
    db.session.add(model(name="çaju", **fields))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(model)) == (
        1 if model is Provider else 3  # the two seeded personas and "ÇAJU"
    )


def test_renaming_keeps_the_key_in_step(app_ctx):
    persona = persona_service.create_persona("Ipê", "p")
    persona_service.update_persona(persona, "Jacarandá", "p")
    assert persona.name_key == "jacarandá"
    assert db.session.scalar(Persona.select_by_name("JACARANDÁ")) is persona
    assert db.session.scalar(Persona.select_by_name("Ipê")) is None


def test_providers_differing_in_non_ascii_case_clash(app_ctx):
    provider_service.create_provider(provider_service.ProviderInput("ÇAJU", "openai", None))
    with pytest.raises(NameTaken) as caught:
        provider_service.create_provider(provider_service.ProviderInput("çaju", "openai", None))
    assert caught.value.name == "çaju"


def test_persona_names_differing_in_non_ascii_case_clash(app_ctx):
    persona_service.create_persona("ÁGUA VIVA", "p")
    with pytest.raises(NameTaken):
        persona_service.create_persona("água viva", "q")


def test_import_updates_the_persona_and_provider_spelled_differently(app_ctx):
    persona_service.create_persona("ÁGUA VIVA", "old")
    provider_service.create_provider(provider_service.ProviderInput("ÇAJU", "openai", None))
    result = import_config(
        "providers:\n  çaju: {models: [m1]}\npersonas:\n  - {name: água viva, prompt: new}\n",
        environ={},
    )
    assert result.created == []
    assert sorted(result.updated) == ["personas.água viva", "providers.çaju"]
    (persona,) = db.session.scalars(Persona.select_by_name("água viva")).all()
    assert (persona.name, persona.prompt) == ("ÁGUA VIVA", "new")
    (provider,) = db.session.scalars(Provider.select_by_name("çaju")).all()
    assert (provider.name, provider.models) == ("ÇAJU", ["m1"])


def test_import_refuses_a_file_naming_one_persona_twice(app_ctx):
    with pytest.raises(ConfigImportError) as caught:
        import_config(
            "personas:\n  - {name: água viva, prompt: a}\n  - {name: ÁGUA VIVA, prompt: b}\n",
            environ={},
        )
    assert "appears twice" in caught.value.message
    assert db.session.scalars(Persona.select_by_name("água viva")).first() is None
