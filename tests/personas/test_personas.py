"""Personas: list, create, edit, delete with confirmation, validation and CSRF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Persona
from calango.models.names import NAME_MAX
from calango.models.persona import PROMPT_MAX


def _persona(app, name):
    with app.app_context():
        return db.session.scalar(select(Persona).where(Persona.name == name))


def _persona_id(app, name):
    persona = _persona(app, name)
    assert persona is not None, f"no persona named {name!r}"
    return persona.id


def _count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Persona))


def _field_errors(page, field):
    """The error list rendered beside ``field`` (empty string when there is none)."""
    match = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""


def _add_chat(app, persona_name, text="Hello there"):
    with app.app_context():
        chat = ChatSession(title="Old chat", persona=persona_name)
        chat.messages.append(ChatMessage(role="user", content=text, persona=persona_name))
        db.session.add(chat)
        db.session.commit()
        return chat.id


# --- list -----------------------------------------------------------------------------


def test_index_lists_personas_with_actions(app, client):
    response = client.get("/personas/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Calango (Default)" in page
    assert "Python Expert" in page
    pid = _persona_id(app, "Python Expert")
    assert f'href="/personas/{pid}/edit"' in page
    assert f'href="/personas/{pid}/delete"' in page
    assert 'href="/personas/new"' in page


def test_index_escapes_names_and_prompts(app, client, csrf):
    client.post(
        "/personas/new",
        data={"csrf_token": csrf, "name": "<b>Bold</b>", "prompt": "<script>x()</script>"},
    )
    page = client.get("/personas/").get_data(as_text=True)
    assert "&lt;b&gt;Bold&lt;/b&gt;" in page
    assert "<script>x()" not in page


# --- create ---------------------------------------------------------------------------


def test_create_form_renders(client):
    response = client.get("/personas/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="name"' in page
    assert 'name="prompt"' in page
    assert 'name="csrf_token"' in page
    assert f'maxlength="{NAME_MAX}"' in page


def test_create_persona_flashes_and_redirects(app, client, csrf):
    response = client.post(
        "/personas/new",
        data={"csrf_token": csrf, "name": "  Poet  ", "prompt": "Answer in verse."},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/personas/")
    page = client.get("/personas/").get_data(as_text=True)
    assert "Created persona “Poet”." in page
    persona = _persona(app, "Poet")  # trimmed
    assert persona is not None
    assert persona.prompt == "Answer in verse."


@pytest.mark.parametrize(
    ("name", "prompt", "field", "message"),
    [
        ("", "Be brief.", "name", "Give the persona a name."),
        ("   ", "Be brief.", "name", "Give the persona a name."),
        ("Brief", "", "prompt", "Write the instructions the model should follow."),
        ("Brief", "  \n ", "prompt", "Write the instructions the model should follow."),
        ("x" * (NAME_MAX + 1), "Be brief.", "name", f"{NAME_MAX} characters or fewer"),
        ("Brief", "y" * (PROMPT_MAX + 1), "prompt", f"{PROMPT_MAX} characters or fewer"),
    ],
    ids=["empty-name", "blank-name", "empty-prompt", "blank-prompt", "long-name", "long-prompt"],
)
def test_create_rejects_invalid_input_beside_the_field(
    app, client, csrf, name, prompt, field, message
):
    before = _count(app)
    response = client.post(
        "/personas/new", data={"csrf_token": csrf, "name": name, "prompt": prompt}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in _field_errors(page, field)
    assert f'aria-describedby="{field}-help {field}-errors"' in page
    other = "prompt" if field == "name" else "name"
    assert _field_errors(page, other) == ""
    assert _count(app) == before


def test_limits_at_the_boundary_are_accepted(app, client, csrf):
    name = "n" * NAME_MAX
    response = client.post(
        "/personas/new", data={"csrf_token": csrf, "name": name, "prompt": "p" * PROMPT_MAX}
    )
    assert response.status_code == 302
    assert _persona(app, name) is not None


@pytest.mark.parametrize(
    "name", ["Python Expert", "python expert", "PYTHON EXPERT", "pYtHoN eXpErT"]
)
def test_create_rejects_duplicate_name_in_any_case(app, client, csrf, name):
    before = _count(app)
    response = client.post("/personas/new", data={"csrf_token": csrf, "name": name, "prompt": "x"})
    assert response.status_code == 200
    errors = _field_errors(response.get_data(as_text=True), "name")
    assert "already exists" in errors
    assert _count(app) == before


def test_duplicate_check_folds_non_ascii_case(app, client, csrf):
    # SQLite's lower() folds ASCII only; the rule must hold on every backend.
    client.post("/personas/new", data={"csrf_token": csrf, "name": "Ipê Florido", "prompt": "x"})
    before = _count(app)
    response = client.post(
        "/personas/new", data={"csrf_token": csrf, "name": "IPÊ FLORIDO", "prompt": "x"}
    )
    assert response.status_code == 200
    assert "already exists" in _field_errors(response.get_data(as_text=True), "name")
    assert _count(app) == before


def test_duplicate_name_is_reported_with_the_other_errors(app, client, csrf):
    response = client.post(
        "/personas/new", data={"csrf_token": csrf, "name": "python EXPERT", "prompt": ""}
    )
    page = response.get_data(as_text=True)
    assert "already exists" in _field_errors(page, "name")
    assert "Write the instructions" in _field_errors(page, "prompt")


def test_a_name_taken_between_check_and_write_is_reported(app, client, csrf, monkeypatch):
    # Both checks before the write pass (another request wins the race after them): the
    # unique name_key refuses the row, and the clash is reported like any other.
    monkeypatch.setattr("calango.forms.name_in_use", lambda *a, **k: False)
    monkeypatch.setattr("calango.services.personas.check_name_free", lambda *a, **k: None)
    before = _count(app)
    response = client.post(
        "/personas/new", data={"csrf_token": csrf, "name": "PYTHON  expert", "prompt": "x"}
    )
    assert response.status_code == 200
    assert "already exists" in _field_errors(response.get_data(as_text=True), "name")
    assert _count(app) == before


def test_rejected_form_keeps_what_was_typed(client, csrf):
    response = client.post(
        "/personas/new", data={"csrf_token": csrf, "name": "Keeper", "prompt": ""}
    )
    assert 'value="Keeper"' in response.get_data(as_text=True)


# --- edit -----------------------------------------------------------------------------


def test_edit_form_is_prefilled(app, client):
    pid = _persona_id(app, "Python Expert")
    response = client.get(f"/personas/{pid}/edit")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'value="Python Expert"' in page
    assert f'href="/personas/{pid}/delete"' in page


def test_edit_saves_and_flashes(app, client, csrf):
    pid = _persona_id(app, "Python Expert")
    response = client.post(
        f"/personas/{pid}/edit",
        data={"csrf_token": csrf, "name": "Pythonista", "prompt": "Write idiomatic Python."},
    )
    assert response.status_code == 302
    assert "Saved persona “Pythonista”." in client.get("/personas/").get_data(as_text=True)
    with app.app_context():
        persona = db.session.get(Persona, pid)
        assert (persona.name, persona.prompt) == ("Pythonista", "Write idiomatic Python.")


def test_edit_may_change_the_case_of_its_own_name(app, client, csrf):
    pid = _persona_id(app, "Python Expert")
    response = client.post(
        f"/personas/{pid}/edit",
        data={"csrf_token": csrf, "name": "PYTHON expert", "prompt": "Same, louder."},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Persona, pid).name == "PYTHON expert"


def test_edit_rejects_another_personas_name(app, client, csrf):
    pid = _persona_id(app, "Python Expert")
    response = client.post(
        f"/personas/{pid}/edit",
        data={"csrf_token": csrf, "name": "calango (default)", "prompt": "x"},
    )
    assert response.status_code == 200
    assert "already exists" in _field_errors(response.get_data(as_text=True), "name")
    with app.app_context():
        assert db.session.get(Persona, pid).name == "Python Expert"


def test_edit_validates_like_create(app, client, csrf):
    pid = _persona_id(app, "Python Expert")
    response = client.post(
        f"/personas/{pid}/edit", data={"csrf_token": csrf, "name": "", "prompt": ""}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Give the persona a name." in _field_errors(page, "name")
    assert "Write the instructions" in _field_errors(page, "prompt")


# --- delete ---------------------------------------------------------------------------


def test_delete_page_confirms_without_javascript(app, client):
    pid = _persona_id(app, "Python Expert")
    response = client.get(f"/personas/{pid}/delete")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Delete the persona “Python Expert”?" in page
    assert f'action="/personas/{pid}/delete"' in page
    assert 'method="post"' in page
    assert 'name="csrf_token"' in page
    # A GET only asks: the persona is still there.
    assert _persona(app, "Python Expert") is not None


@pytest.mark.parametrize(("chats", "text"), [(1, "1 chat used it"), (3, "3 chats used it")])
def test_delete_page_counts_the_chats_that_used_it(app, client, chats, text):
    for _ in range(chats):
        _add_chat(app, "Python Expert")
    _add_chat(app, "Calango (Default)")  # another persona's chat is not counted
    pid = _persona_id(app, "Python Expert")
    page = client.get(f"/personas/{pid}/delete").get_data(as_text=True)
    assert text in page


def test_delete_page_without_chats(app, client):
    pid = _persona_id(app, "Python Expert")
    page = client.get(f"/personas/{pid}/delete").get_data(as_text=True)
    assert "Chats that used it stay readable" in page


def test_delete_removes_persona_and_keeps_old_chats_readable(app, client, csrf):
    chat_id = _add_chat(app, "Python Expert", text="How do I sort a dict?")
    pid = _persona_id(app, "Python Expert")
    response = client.post(f"/personas/{pid}/delete", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/personas/")
    page = client.get("/personas/").get_data(as_text=True)
    assert "Deleted persona “Python Expert”." in page
    with app.app_context():
        assert db.session.get(Persona, pid) is None
        chat = db.session.get(ChatSession, chat_id)
        assert chat is not None
        assert chat.persona == "Python Expert"
        assert [m.content for m in chat.messages] == ["How do I sort a dict?"]
    shown = client.get(f"/chats/{chat_id}")
    assert shown.status_code == 200
    assert "How do I sort a dict?" in shown.get_data(as_text=True)


def test_deleted_name_can_be_used_again(app, client, csrf):
    pid = _persona_id(app, "Python Expert")
    client.post(f"/personas/{pid}/delete", data={"csrf_token": csrf})
    response = client.post(
        "/personas/new", data={"csrf_token": csrf, "name": "python expert", "prompt": "New."}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Created persona “python expert”." in page
    with app.app_context():
        (persona,) = db.session.scalars(Persona.select_by_name("Python Expert")).all()
        assert (persona.name, persona.prompt) == ("python expert", "New.")


# --- CSRF and unknown ids ---------------------------------------------------------------


def test_post_without_csrf_token_is_refused(app, client):
    pid = _persona_id(app, "Python Expert")
    before = _count(app)
    for path, data in [
        ("/personas/new", {"name": "Sneaky", "prompt": "x"}),
        (f"/personas/{pid}/edit", {"name": "Sneaky", "prompt": "x"}),
        (f"/personas/{pid}/delete", {}),
    ]:
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "Form expired" in response.get_data(as_text=True)
    assert _count(app) == before
    with app.app_context():
        assert db.session.get(Persona, pid).name == "Python Expert"


def test_post_with_a_wrong_csrf_token_is_refused(app, client, csrf):
    pid = _persona_id(app, "Python Expert")
    response = client.post(f"/personas/{pid}/delete", data={"csrf_token": csrf + "x"})
    assert response.status_code == 400
    assert _persona(app, "Python Expert") is not None


def test_unknown_persona_is_404(client, csrf):
    assert client.get("/personas/999999/edit").status_code == 404
    assert client.get("/personas/999999/delete").status_code == 404
    data = {"csrf_token": csrf, "name": "Ghost", "prompt": "x"}
    assert client.post("/personas/999999/edit", data=data).status_code == 404
    assert client.post("/personas/999999/delete", data={"csrf_token": csrf}).status_code == 404
