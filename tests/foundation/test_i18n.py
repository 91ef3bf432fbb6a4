"""The pt_BR catalog translates every message in the code, and pages really render in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from calango.extensions import babel

ROOT = Path(__file__).resolve().parents[2]
BABEL_CFG = ROOT / "babel.cfg"
PO_FILE = ROOT / "calango" / "translations" / "pt_BR" / "LC_MESSAGES" / "messages.po"
# The top-level folders babel.cfg maps; nothing else is walked (.venv, node_modules, ...).
SOURCE_DIRS = ("calango", "templates")
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
}


def _extract() -> dict[str | tuple[str, ...], list[str]]:
    """msgid (a tuple for plurals) -> where it is used."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, filename=str(BABEL_CFG))

    def only_sources(dirpath: str) -> bool:
        parts = Path(dirpath).relative_to(ROOT).parts
        return (not parts or parts[0] in SOURCE_DIRS) and not any(
            part.startswith((".", "__")) for part in parts
        )

    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=only_sources,
    ):
        if context:
            message = (context, message)  # pgettext: kept apart, compared on msgid below
        if not message or (isinstance(message, tuple) and not any(message)):
            continue
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str | tuple[str, ...], list[str]]:
    return _extract()


@pytest.fixture(scope="module")
def catalog():
    with PO_FILE.open("rb") as po:
        return read_po(po, locale="pt_BR")


def _msgid(message: str | tuple[str, ...]) -> str:
    return message if isinstance(message, str) else message[0]


def test_extraction_finds_the_code_base(extracted):
    # A broken babel.cfg or filter would make the completeness test pass vacuously.
    ids = {_msgid(m) for m in extracted}
    assert "Personas" in ids  # templates/base.html
    assert "Calango (green)" in ids  # calango/themes.py, via _l
    assert "Give the persona a name." in ids  # calango/personas/forms.py
    assert any(m.startswith("%(num)d chat used it") for m in ids)  # ngettext in a template
    assert len(ids) > 50


def test_every_message_has_a_pt_br_translation(extracted, catalog):
    problems = []
    for message, places in sorted(extracted.items(), key=lambda item: str(item[0])):
        entry = catalog.get(_msgid(message))
        where = places[0] + (f" (+{len(places) - 1})" if len(places) > 1 else "")
        if entry is None:
            problems.append(f"missing: {_msgid(message)!r}  [{where}]")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy:
            problems.append(f"fuzzy:   {_msgid(message)!r}  [{where}]")
        elif not all(s and s.strip() for s in strings):
            problems.append(f"empty:   {_msgid(message)!r}  [{where}]")
        elif isinstance(message, tuple) and not isinstance(entry.id, tuple):
            problems.append(f"plural lost: {_msgid(message)!r}  [{where}]")
    assert not problems, (
        f"{len(problems)} of {len(extracted)} messages are not translated in {PO_FILE.name} "
        "(run `flask translate update`, translate, then `flask translate compile`):\n"
        + "\n".join(problems)
    )


def test_translations_keep_their_placeholders(catalog):
    # A translation that drops or misspells %(name)s raises or loses information at runtime.
    problems = []
    for message, errors in catalog.check():
        problems.extend(f"{message.id!r}: {error}" for error in errors)
    assert not problems, "\n".join(problems)


# --- a page really renders in Portuguese ------------------------------------------------


@pytest.fixture
def compiled_translations(tmp_path_factory: pytest.TempPathFactory, catalog) -> Path:
    """The .po compiled to a temporary folder (.mo files are build output, not in git)."""
    folder = tmp_path_factory.mktemp("translations")
    target = folder / "pt_BR" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    return folder


@pytest.fixture
def app_config(app_config, compiled_translations):
    app_config.BABEL_TRANSLATION_DIRECTORIES = str(compiled_translations)
    return app_config


@pytest.fixture
def client(app):
    """A client whose app loads the catalog compiled above. Flask-Babel caches translations
    per locale on the one Babel object every app in this process shares, so the cache is
    emptied around the test."""
    with app.app_context():
        cache = babel.domain_instance.cache
    cache.clear()
    yield app.test_client()
    cache.clear()


def test_pt_br_pages_render_in_portuguese(client):
    headers = {"Accept-Language": "pt-BR,pt;q=0.9"}
    page = client.get("/personas/", headers=headers).get_data(as_text=True)
    assert 'lang="pt-BR"' in page
    assert ">Configurações</a>" in page
    assert ">Personas</a>" in page  # the same word in both languages
    settings = client.get("/settings/", headers=headers).get_data(as_text=True)
    assert "Siga o navegador" in settings or "Seguir o navegador" in settings
    assert "English" in settings  # language names stay in their own language


def test_english_pages_stay_english(client):
    page = client.get("/personas/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert ">Settings</a>" in page


@pytest.mark.parametrize(
    ("locale", "milliseconds", "shown"),
    [("en", 1250, "1.25"), ("pt_BR", 1250, "1,25"), ("pt_BR", 61000, "61"), ("en", None, "—")],
)
def test_durations_are_formatted_in_the_language(app, locale, milliseconds, shown):
    from flask_babel import force_locale

    from calango.i18n import format_seconds

    with app.test_request_context(), force_locale(locale):
        assert format_seconds(milliseconds) == shown


def test_templates_follow_the_locale_as_it_changes_within_a_request(app):
    """Templates keep the request's translations at hand; a forced locale (the CLI, the
    built-in personas in each language) and a refreshed one still take effect at once."""
    from flask import g, render_template_string
    from flask_babel import force_locale, refresh

    source = "{{ _('Stop') }} {{ ngettext('%(num)d message', '%(num)d messages', 2) }}"
    with app.test_request_context("/", headers={"Accept-Language": "pt-BR"}):
        assert render_template_string(source).startswith("Parar")
        with force_locale("en"):
            assert render_template_string(source) == "Stop 2 messages"
        assert render_template_string(source).startswith("Parar")
        g.calango_language = "en"  # as if saved meanwhile: seen only after a refresh
        assert render_template_string(source).startswith("Parar")
        refresh()
        assert render_template_string(source) == "Stop 2 messages"
