"""Hatch a persona: a sentence → a structured answer from the fake provider → a prefilled
persona form; invalid answers are asked for again once; the call is recorded with its cost."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from calango.extensions import db
from calango.models import CallKind, Persona, Provider, ProviderCall
from calango.services.composer import model_value
from tests.helpers import FAKE_MODEL

PROPOSAL = {
    "name": "Professora Ana",
    "description": "A patient Portuguese tutor who corrects your grammar.",
    "traits": ["patient", "precise", "encouraging"],
    "system_prompt": "You are Ana, a patient Portuguese tutor. Correct the user's grammar.",
    "starters": ["Corrija este parágrafo", "Explique a crase"],
}


def _hatch(client: FlaskClient, csrf: str, provider: Provider, model: str) -> Any:
    return client.post(
        "/personas/hatch",
        data={
            "csrf_token": csrf,
            "description": "a patient Portuguese tutor who corrects my grammar",
            "model": model_value(provider.id, model),
        },
    )


def _calls(app: Flask) -> list[ProviderCall]:
    with app.app_context():
        calls = list(db.session.scalars(select(ProviderCall).order_by(ProviderCall.id)))
        for call in calls:
            db.session.expunge(call)
        return calls


def _persona_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Persona)) or 0


def test_a_valid_answer_prefills_the_persona_form(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply=json.dumps(PROPOSAL))
    before = _persona_count(app)
    page = _hatch(client, csrf, provider, FAKE_MODEL).get_data(as_text=True)

    assert 'value="Professora Ana"' in page
    assert "patient, precise, encouraging" in page
    assert "Explique a crase" in page
    assert "You are Ana, a patient Portuguese tutor." in page
    assert 'action="/personas/new"' in page
    assert _persona_count(app) == before, "nothing is saved until the user saves"

    body = fake.requests[-1]["json"]
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    assert set(schema["required"]) == {"name", "description", "traits", "system_prompt", "starters"}
    assert "one-sentence" in body["messages"][0]["content"]
    assert body["messages"][-1]["content"] == "a patient Portuguese tutor who corrects my grammar"

    (call,) = _calls(app)
    assert (call.kind, call.provider, call.model, call.status) == (
        CallKind.HATCH,
        "Fake",
        FAKE_MODEL,
        "complete",
    )
    assert call.prompt_tokens and call.completion_tokens
    expected = (Decimal(call.prompt_tokens) * 2 + Decimal(call.completion_tokens) * 8) / 10**6
    assert call.cost == expected.quantize(Decimal("0.00000001"))


def test_an_invalid_answer_is_asked_for_again_once(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    invalid = json.dumps({**PROPOSAL, "traits": "patient"})  # a string, not a list
    fake.script(replies=[invalid, json.dumps(PROPOSAL)])
    page = _hatch(client, csrf, provider, FAKE_MODEL).get_data(as_text=True)
    assert 'value="Professora Ana"' in page
    assert len(fake.requests) == 2
    retry = fake.requests[1]["json"]["messages"][-1]["content"]
    assert "not valid" in retry and '"traits" must be a list of strings' in retry
    assert [c.kind for c in _calls(app)] == [CallKind.HATCH, CallKind.HATCH]


def test_two_invalid_answers_are_an_error_and_nothing_is_saved(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    too_long = {**PROPOSAL, "name": "N" * 500}
    fake.script(replies=["Sure! Here is a persona: Ana.", json.dumps(too_long)])
    before = _persona_count(app)
    response = _hatch(client, csrf, provider, FAKE_MODEL)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "did not propose a valid persona" in page
    assert 'id="hatch-form"' in page, "the description stays to try again"
    assert len(fake.requests) == 2
    assert _persona_count(app) == before


def test_json_inside_prose_and_a_fence_is_found(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply=f"Here you go:\n```json\n{json.dumps(PROPOSAL)}\n```\nEnjoy!")
    assert 'value="Professora Ana"' in _hatch(client, csrf, provider, FAKE_MODEL).get_data(
        as_text=True
    )


def test_anthropic_is_asked_through_a_forced_tool(
    app: Flask, client: FlaskClient, csrf: str, anthropic_provider: Provider, fake: Any
) -> None:
    fake.script(reply=json.dumps(PROPOSAL))
    page = _hatch(client, csrf, anthropic_provider, "claude-fake").get_data(as_text=True)
    assert 'value="Professora Ana"' in page
    body = fake.requests[-1]["json"]
    assert body["tool_choice"] == {"type": "tool", "name": "propose_persona"}
    (tool,) = body["tools"]
    assert tool["input_schema"]["properties"]["traits"]["type"] == "array"
    assert "response_format" not in body
    (call,) = _calls(app)
    assert call.provider == "FakeClaude" and call.cost is not None


def test_a_provider_error_is_shown_and_recorded(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(status=401, error_body={"error": {"message": "bad key"}})
    page = _hatch(client, csrf, provider, FAKE_MODEL).get_data(as_text=True)
    assert 'id="hatch-error"' in page
    (call,) = _calls(app)
    assert (call.status, call.error_class) == ("error", "auth")


def test_the_hatched_persona_is_saved_as_edited(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    response = client.post(
        "/personas/new",
        data={
            "csrf_token": csrf,
            "name": "Professora Ana",
            "description": PROPOSAL["description"],
            "traits": "patient, precise",
            "prompt": PROPOSAL["system_prompt"],
            "starters": "Corrija este parágrafo\nExplique a crase",
            "avatar_emoji": "📚",
            "default_provider": "Fake",
            "default_model": FAKE_MODEL,
            "temperature": "0.3",
            "max_tokens": "800",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        persona = db.session.scalar(select(Persona).where(Persona.name == "Professora Ana"))
        assert persona is not None
        assert persona.traits == ["patient", "precise"]
        assert persona.starters == ["Corrija este parágrafo", "Explique a crase"]
        assert persona.params == {"temperature": 0.3, "max_tokens": 800}
        assert (persona.default_provider, persona.default_model) == ("Fake", FAKE_MODEL)


def test_the_persona_form_bounds_traits_starters_and_parameters(
    app: Flask, client: FlaskClient, csrf: str
) -> None:
    page = client.post(
        "/personas/new",
        data={
            "csrf_token": csrf,
            "name": "Demais",
            "prompt": "p",
            "traits": ", ".join(f"t{i}" for i in range(9)),
            "starters": "\n".join(f"s{i}" for i in range(5)),
            "temperature": "3",
            "max_tokens": "lots",
        },
    ).get_data(as_text=True)
    assert "at most 8 traits" in page
    assert "at most 4 starter prompts" in page
    assert "temperature must be a number from 0 to 2" in page
    assert "output limit must be a whole number" in page
    assert "Demais" not in client.get("/personas/").get_data(as_text=True)


def test_a_cuca_counts_the_hatch_and_its_cost(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply=json.dumps(PROPOSAL))
    _hatch(client, csrf, provider, FAKE_MODEL)
    (call,) = _calls(app)
    page = client.get("/cuca/log?kind=hatch").get_data(as_text=True)
    assert "Hatch a persona" in page
    assert "Fake" in page and FAKE_MODEL in page
    with app.test_request_context():
        from calango.i18n import format_money

        assert format_money(call.cost) in page


def test_a_server_without_json_schema_gets_instructions_only(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    fake.script(reply=json.dumps(PROPOSAL), refuse_fields=("response_format",))
    page = _hatch(client, csrf, provider, FAKE_MODEL).get_data(as_text=True)
    assert 'value="Professora Ana"' in page
    first, second = (r["json"] for r in fake.requests)
    assert "response_format" in first and "response_format" not in second
    assert '"system_prompt"' in second["messages"][0]["content"], "the schema is in the text"
    assert [c.status for c in _calls(app)] == ["complete"]
