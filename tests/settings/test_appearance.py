"""Appearance settings: theme and language, saved, applied on every page, validated."""

from __future__ import annotations

import re

import pytest

from calango.accounts import local_user_id
from calango.extensions import db
from calango.services.preferences import LANGUAGE_KEY, THEME_KEY, user_value
from calango.themes import DEFAULT_THEME, THEMES


def _html_tag(page):
    match = re.search(r"<html[^>]*>", page)
    assert match, "no <html> tag"
    return match.group(0)


def _stored(app, key):
    with app.app_context():
        value = user_value(local_user_id(), key)
        db.session.remove()
        return value


def _save(client, csrf, theme="calango", language=""):
    return client.post(
        "/settings/", data={"csrf_token": csrf, "theme": theme, "language": language}
    )


def test_settings_page_offers_every_theme_with_a_swatch(client):
    response = client.get("/settings/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert len(THEMES) == 8  # seven themes and "follow the system"
    for theme_id, label in THEMES.items():
        assert f'type="radio" value="{theme_id}"' in page
        assert f'class="theme-swatch" data-theme="{theme_id}"' in page
        assert str(label) in page
    # The default theme is preselected.
    assert re.search(rf'checked[^>]*value="{DEFAULT_THEME}"', page)


def test_settings_page_offers_languages_and_follow_the_browser(client):
    page = client.get("/settings/").get_data(as_text=True)
    assert "Follow the browser" in page
    assert "English" in page
    assert "Português (Brasil)" in page
    assert re.search(r'checked[^>]*value=""', page)  # nothing saved: follow the browser
    assert 'name="csrf_token"' in page


def test_theme_is_saved_with_a_flash_and_post_redirect_get(app, client, csrf):
    response = _save(client, csrf, theme="ipe")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/settings/")
    page = client.get("/settings/").get_data(as_text=True)
    assert "Saved" in page
    assert re.search(r'checked[^>]*value="ipe"', page)
    assert _stored(app, THEME_KEY) == "ipe"


@pytest.mark.parametrize("theme_id", list(THEMES))
def test_theme_applies_server_side_on_other_pages(client, csrf, theme_id):
    _save(client, csrf, theme=theme_id)
    for path in ("/personas/", "/settings/", "/personas/new"):
        assert f'data-theme="{theme_id}"' in _html_tag(client.get(path).get_data(as_text=True))


def test_theme_persists_for_a_new_browser_session(app, client, csrf):
    _save(client, csrf, theme="girassol")
    with app.test_client() as other:  # no cookies shared: the setting lives in the database
        page = other.get("/personas/").get_data(as_text=True)
    assert 'data-theme="girassol"' in _html_tag(page)


def test_language_is_saved_and_pages_render_in_it(app, client, csrf):
    assert 'lang="en"' in _html_tag(client.get("/personas/").get_data(as_text=True))
    response = _save(client, csrf, theme="calango", language="pt_BR")
    assert response.status_code == 302
    assert _stored(app, LANGUAGE_KEY) == "pt_BR"
    for path in ("/personas/", "/settings/"):
        assert 'lang="pt-BR"' in _html_tag(client.get(path).get_data(as_text=True))
    page = client.get("/settings/").get_data(as_text=True)
    assert re.search(r'checked[^>]*value="pt_BR"', page)


def test_saved_language_wins_over_the_browser(client, csrf):
    _save(client, csrf, language="en")
    page = client.get("/personas/", headers={"Accept-Language": "pt-BR,pt;q=0.9"})
    assert 'lang="en"' in _html_tag(page.get_data(as_text=True))


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.8", "pt-BR"),
        ("pt", "pt-BR"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9", "en"),
    ],
)
def test_without_a_saved_language_the_browser_decides(client, header, lang):
    page = client.get("/personas/", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f'lang="{lang}"' in _html_tag(page)


def test_follow_the_browser_clears_the_saved_language(app, client, csrf):
    _save(client, csrf, language="pt_BR")
    _save(client, csrf, language="")
    assert _stored(app, LANGUAGE_KEY) is None
    page = client.get("/personas/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="en"' in _html_tag(page)


def test_dates_numbers_and_money_follow_the_language(client, csrf):
    english = client.get("/settings/").get_data(as_text=True)
    assert "1,234,567.5" in english
    assert "$1,234.50" in english
    _save(client, csrf, language="pt_BR")
    portuguese = client.get("/settings/").get_data(as_text=True)
    assert "1.234.567,5" in portuguese
    assert "US$" in portuguese
    assert "1.234,50" in portuguese
    assert "14/03/2026" in portuguese


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"theme": "neon", "language": ""}, "theme", "Choose one of the themes shown."),
        ({"theme": "", "language": ""}, "theme", "Choose a theme."),
        ({"language": ""}, "theme", "Choose a theme."),
        ({"theme": "calango", "language": "fr"}, "language", "Choose one of the languages shown."),
        ({"theme": "calango", "language": "pt-BR"}, "language", "Choose one of the languages"),
    ],
    ids=["unknown-theme", "empty-theme", "missing-theme", "unknown-language", "wrong-code"],
)
def test_invalid_values_are_rejected_with_a_message(app, client, csrf, data, field, message):
    response = client.post("/settings/", data={"csrf_token": csrf, **data})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    errors = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', page, re.S)
    assert errors, f"no errors beside {field}"
    assert message in errors.group(1)
    assert "Saved" not in page
    assert _stored(app, THEME_KEY) is None
    assert _stored(app, LANGUAGE_KEY) is None
    # The page keeps the current theme, not the invalid one.
    assert f'data-theme="{DEFAULT_THEME}"' in _html_tag(page)


def test_post_without_csrf_token_is_refused(app, client):
    response = client.post("/settings/", data={"theme": "tie", "language": "pt_BR"})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    assert _stored(app, THEME_KEY) is None
    assert 'data-theme="calango"' in _html_tag(client.get("/personas/").get_data(as_text=True))
