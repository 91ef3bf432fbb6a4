"""Per-user scoping in SERVER mode: preferences, personas, A Cuca, imports, exports, import
jobs and the admin-only provider pages."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, ImportJob, Persona, UserSetting
from calango.models.types import utcnow
from calango.services import call_rollup
from calango.services.dashboard import DashboardFilters, overview
from tests.dashboard.conftest import add_answer, add_call
from tests.helpers import csrf_token_from

SAMPLE = Path(__file__).parents[1] / "data" / "samples" / "calango.json"


def _html_tag(page: str) -> str:
    match = re.search(r"<html[^>]*>", page)
    assert match
    return match.group(0)


def test_a_theme_and_language_do_not_change_b(app: Flask, people) -> None:
    a, b = people["a"], people["b"]
    token = csrf_token_from(a.client, "/settings/")
    response = a.client.post(
        "/settings/", data={"csrf_token": token, "theme": "ipe", "language": "pt_BR"}
    )
    assert response.status_code == 302
    tag_a = _html_tag(a.client.get("/settings/").get_data(as_text=True))
    tag_b = _html_tag(
        b.client.get("/settings/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    )
    assert 'data-theme="ipe"' in tag_a and 'lang="pt-BR"' in tag_a
    assert 'data-theme="ipe"' not in tag_b and 'lang="en"' in tag_b
    with app.app_context():
        assert UserSetting.get(a.user.id, "theme") == "ipe"
        assert UserSetting.get(b.user.id, "theme") is None


def _create_persona(person, name: str, shared: bool = False) -> int:
    token = csrf_token_from(person.client, "/personas/new")
    data = {"csrf_token": token, "name": name, "prompt": f"You are {name}."}
    if shared:
        data["is_shared"] = "y"
    response = person.client.post("/personas/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with person.client.application.app_context():
        return db.session.scalar(
            select(Persona.id).where(Persona.name == name, Persona.owner_id == person.user.id)
        )


def test_b_cannot_see_edit_or_delete_a_persona(app: Flask, people) -> None:
    a, b = people["a"], people["b"]
    persona_id = _create_persona(a, "Secret Agent")
    assert "Secret Agent" in a.client.get("/personas/").get_data(as_text=True)
    assert "Secret Agent" not in b.client.get("/personas/").get_data(as_text=True)
    assert b.client.get(f"/personas/{persona_id}/edit").status_code == 404
    assert b.client.get(f"/personas/{persona_id}/delete").status_code == 404
    assert b.client.get(f"/personas/{persona_id}/avatar.png").status_code == 404
    token = csrf_token_from(b.client, "/personas/")
    posted = b.client.post(f"/personas/{persona_id}/delete", data={"csrf_token": token})
    assert posted.status_code == 404
    with app.app_context():
        assert db.session.get(Persona, persona_id) is not None
    assert a.client.get(f"/personas/{persona_id}/edit").status_code == 200


def test_both_may_use_the_same_persona_name(people) -> None:
    a, b = people["a"], people["b"]
    assert _create_persona(a, "Twin") != _create_persona(b, "Twin")


def test_a_shared_persona_is_seen_by_all_and_changed_by_admins_only(app: Flask, people) -> None:
    admin, b = people["admin"], people["b"]
    persona_id = _create_persona(admin, "Team Helper", shared=True)
    listing = b.client.get("/personas/").get_data(as_text=True)
    assert "Team Helper" in listing and "Shared" in listing
    assert b.client.get(f"/personas/{persona_id}/edit").status_code == 403
    assert b.client.get(f"/personas/{persona_id}/delete").status_code == 403
    assert admin.client.get(f"/personas/{persona_id}/edit").status_code == 200
    # A non-admin's form offers no sharing, and a posted flag is ignored.
    assert "is_shared" not in b.client.get("/personas/new").get_data(as_text=True)
    own = _create_persona(b, "Mine Only", shared=True)
    with app.app_context():
        assert db.session.get(Persona, own).is_shared is False


def test_new_server_users_get_their_own_builtin_personas(app: Flask, people) -> None:
    a, b = people["a"], people["b"]
    a.client.get("/personas/", headers={"Accept-Language": "pt-BR"})
    b.client.get("/personas/", headers={"Accept-Language": "en"})
    with app.app_context():
        names = {
            owner: set(db.session.scalars(select(Persona.name).where(Persona.owner_id == owner)))
            for owner in (a.user.id, b.user.id)
        }
    assert names[a.user.id] == {"Calango (Padrão)", "Especialista em Python"}
    assert names[b.user.id] == {"Calango (Default)", "Python Expert"}


def test_a_cuca_shows_each_user_their_own_calls(app: Flask, people) -> None:
    a, b = people["a"], people["b"]
    when = utcnow() - timedelta(hours=1)
    add_answer(app, when, cost="0.50", prompt=100, completion=10, owner_id=a.user.id)
    add_answer(app, when, cost="0.25", prompt=100, completion=10, owner_id=a.user.id)
    add_answer(app, when, cost="0.10", prompt=100, completion=10, owner_id=b.user.id)
    add_call(app, when, owner_id=b.user.id)
    with app.test_request_context():
        totals_a = overview(DashboardFilters(period="all", owner_id=a.user.id)).totals
        totals_b = overview(DashboardFilters(period="all", owner_id=b.user.id)).totals
    assert (totals_a.calls, str(totals_a.cost)) == (2, "0.75000000")
    assert (totals_b.calls, str(totals_b.cost)) == (2, "0.10000000")
    page_a = a.client.get("/cuca/?period=all").get_data(as_text=True)
    page_b = b.client.get("/cuca/?period=all").get_data(as_text=True)
    assert "$0.75" in page_a and "$0.75" not in page_b
    assert "$0.10" in page_b
    # A rebuild of one user's rollup leaves the other's as it was.
    with app.app_context():
        assert call_rollup.rebuild(a.user.id) == 2
        assert call_rollup.check() == []


def test_rebuild_stats_for_one_user(app: Flask, people) -> None:
    a = people["a"]
    add_answer(app, utcnow() - timedelta(hours=1), cost="0.5", owner_id=a.user.id)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["calango", "rebuild-stats", "--user", "A@example.com"])
    assert result.exit_code == 0, result.output
    assert "from 1 calls" in result.output
    result = runner.invoke(args=["calango", "rebuild-stats", "--user", "nobody@example.com"])
    assert result.exit_code != 0 and "No user" in result.output


def test_b_export_lacks_a_chats(app: Flask, people) -> None:
    a, b = people["a"], people["b"]
    with app.app_context():
        db.session.add(ChatSession(title="A's diary", owner_id=a.user.id))
        db.session.add(ChatSession(title="B's notes", owner_id=b.user.id))
        db.session.commit()
    exported = json.loads(b.client.get("/settings/data/export.json").get_data(as_text=True))
    titles = [chat["title"] for chat in exported["chats"]]
    assert titles == ["B's notes"]
    assert exported["providers"] == []  # the instance's, for admins only
    mine = json.loads(a.client.get("/settings/data/export.json").get_data(as_text=True))
    assert [chat["title"] for chat in mine["chats"]] == ["A's diary"]


def _import_legacy(person) -> None:
    token = csrf_token_from(person.client, "/settings/data/")
    response = person.client.post(
        "/settings/data/import-tinydb",
        data={"csrf_token": token, "file": (io.BytesIO(SAMPLE.read_bytes()), "calango.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "Import finished" in response.get_data(as_text=True)


def _chats_of(app: Flask, owner: int) -> int:
    with app.app_context():
        query = select(func.count()).select_from(ChatSession).where(ChatSession.owner_id == owner)
        return int(db.session.scalar(query) or 0)


def test_the_same_legacy_file_gives_each_importer_a_copy(app: Flask, people) -> None:
    a, b = people["a"], people["b"]
    _import_legacy(a)
    first = _chats_of(app, a.user.id)
    assert first > 0
    _import_legacy(b)
    assert _chats_of(app, b.user.id) == first
    _import_legacy(a)  # again: nothing new for A
    assert _chats_of(app, a.user.id) == first
    with app.app_context():
        pirates = db.session.scalars(select(Persona.owner_id).where(Persona.name == "Pirata"))
        assert sorted(pirates) == sorted([a.user.id, b.user.id])


def test_an_import_job_is_seen_by_its_owner_only(app: Flask, people) -> None:
    a, b = people["a"], people["b"]
    with app.app_context():
        job = ImportJob(kind="chatgpt", filename="c.json", status="done", owner_id=a.user.id)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    assert a.client.get(f"/settings/data/jobs/{job_id}").status_code == 200
    assert b.client.get(f"/settings/data/jobs/{job_id}").status_code == 404
    assert b.client.get(f"/settings/data/jobs/{job_id}.json").status_code == 404


def test_b_cannot_download_a_chat(app: Flask, people) -> None:
    a, b = people["a"], people["b"]
    with app.app_context():
        chat = ChatSession(title="Private", owner_id=a.user.id)
        db.session.add(chat)
        db.session.commit()
        chat_id = chat.id
    assert b.client.get(f"/chats/{chat_id}/export.md").status_code == 404
    assert b.client.get(f"/chats/{chat_id}/export.json").status_code == 404
    assert a.client.get(f"/chats/{chat_id}/export.md").status_code == 200


PROVIDER_PAGES = (
    "/settings/providers",
    "/settings/providers/new",
    "/settings/titles",
    "/settings/config",
)


def test_provider_pages_are_for_admins(people) -> None:
    a, admin = people["a"], people["admin"]
    for page in PROVIDER_PAGES:
        assert a.client.get(page).status_code == 403, page
        assert admin.client.get(page).status_code == 200, page
    token = csrf_token_from(a.client, "/settings/")
    posted = a.client.post("/settings/providers/local-access", data={"csrf_token": token})
    assert posted.status_code == 403


def test_b_cannot_follow_a_message_of_a(app: Flask, people) -> None:
    """The stream's one statement is also its owner check: another user's answer, an id
    in the wrong chat, and an id no database could hold are all the same 404."""
    a, b = people["a"], people["b"]
    with app.app_context():
        chat = ChatSession(title="Private", owner_id=a.user.id)
        db.session.add(chat)
        db.session.flush()
        other = ChatSession(title="Other", owner_id=a.user.id)
        db.session.add(other)
        db.session.flush()
        answer = ChatMessage(session_id=chat.id, role="assistant", content="secret answer",
                             status="complete")  # fmt: skip
        db.session.add(answer)
        db.session.commit()
        chat_id, other_id, answer_id = chat.id, other.id, answer.id
    url = f"/chats/{chat_id}/messages/{answer_id}/stream"
    refused = b.client.get(url)
    assert refused.status_code == 404 and b"secret answer" not in refused.get_data()
    assert a.client.get(f"/chats/{other_id}/messages/{answer_id}/stream").status_code == 404
    assert a.client.get(f"/chats/{chat_id}/messages/{2**40}/stream").status_code == 404
    own = a.client.get(url).get_data(as_text=True)
    assert "event: done" in own and "secret answer" in own
