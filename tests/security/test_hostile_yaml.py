"""Issue #8 item 5: hostile YAML ends in a clear error, bounded before it can cost much.

Time and memory are bounded by construction, and that is what these tests assert: the size is
refused before any parser exists, and anchors, depth and value counts are refused while the
event stream is read, before a node tree or a Python value is built.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from calango.extensions import db
from calango.models import Persona, Provider
from calango.services import config_yaml
from calango.services.config_io import ConfigImportError, import_config
from calango.services.config_parse import MAX_PERSONAS

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""
DEEP_FLOW = "providers: " + "[" * 5000 + "]" * 5000 + "\n"
DEEP_BLOCK = "".join(" " * i + f"k{i}:\n" for i in range(200)) + " " * 200 + "v\n"


def many_personas(count: int, prompt_chars: int = 900) -> str:
    prompt = "x" * prompt_chars
    return "personas:\n" + "".join(
        f"  - name: persona {i}\n    prompt: {prompt}\n" for i in range(count)
    )


class Calls:
    """Which stages of YAML loading ran."""

    def __init__(self) -> None:
        self.parsers = 0
        self.composed = 0
        self.constructed = 0


@pytest.fixture
def calls(monkeypatch) -> Calls:
    record = Calls()
    base = config_yaml._Loader

    class Recording(base):  # type: ignore[misc, valid-type]
        def __init__(self, stream: Any) -> None:
            record.parsers += 1
            super().__init__(stream)

        def get_single_node(self) -> Any:
            record.composed += 1
            return super().get_single_node()

        def construct_document(self, node: Any) -> Any:
            record.constructed += 1
            return super().construct_document(node)

    monkeypatch.setattr(config_yaml, "_Loader", Recording)
    return record


def _refused(text: str) -> ConfigImportError:
    with pytest.raises(ConfigImportError) as info:
        import_config(text, environ={})
    return info.value


def test_billion_laughs_is_refused_before_any_expansion(app_ctx, calls):
    error = _refused(BILLION_LAUGHS)
    assert "anchor" in str(error) and error.line == 1
    assert calls.composed == 0 and calls.constructed == 0


def test_an_alias_alone_is_refused(app_ctx, calls):
    error = _refused("personas:\n  - {name: a, prompt: *p}\n")
    assert "alias" in str(error) and error.line == 2
    assert calls.composed == 0


@pytest.mark.parametrize("text", [DEEP_FLOW, DEEP_BLOCK])
def test_deep_nesting_is_refused_before_building_anything(app_ctx, calls, text):
    error = _refused(text)
    assert f"more than {config_yaml.MAX_DEPTH} levels" in str(error)
    assert error.line is not None
    assert calls.composed == 0


def test_too_many_values_are_refused_before_building_anything(app_ctx, calls):
    models = ", ".join(["m"] * (config_yaml.MAX_NODES + 1))
    error = _refused(f"providers:\n  x:\n    models: [{models}]\n")
    assert f"more than {config_yaml.MAX_NODES} values" in str(error)
    assert calls.composed == 0


def test_a_huge_file_is_refused_before_parsing(app_ctx, calls):
    text = many_personas(14_000)  # ~14 MB, the size the probe used
    assert len(text) > 13_000_000
    error = _refused(text)
    assert "too large" in str(error)
    assert calls.parsers == 0
    assert db.session.scalar(Persona.select_by_name("persona 0")) is None


def test_too_many_entries_are_refused(app_ctx):
    text = many_personas(MAX_PERSONAS + 1, prompt_chars=5)
    error = _refused(text)
    assert "personas" in str(error) and f"at most {MAX_PERSONAS}" in str(error)
    assert db.session.scalar(Persona.select_by_name("persona 0")) is None


@pytest.mark.parametrize(
    ("text", "key", "line", "first"),
    [
        ("providers:\n  groq: {}\n  openai: {}\n  groq: {models: [x]}\n", "groq", 4, 2),
        ("providers:\n  groq:\n    models: [a]\n    models: [b]\n", "models", 4, 3),
        ("settings: {theme: tie, theme: calango}\n", "theme", 1, 1),
        ("personas: []\nproviders: {}\npersonas: []\n", "personas", 3, 1),
    ],
)
def test_duplicate_keys_name_their_lines(app_ctx, text, key, line, first):
    error = _refused(text)
    assert f"“{key}” appears twice" in str(error)
    assert f"line {line}" in str(error) and f"line {first}" in str(error)
    assert error.line == line
    assert db.session.scalar(Provider.select_all()) is None


def test_an_unreadable_number_is_a_clear_error(app_ctx):
    digits = "9" * 5000  # Python refuses to convert an int of more than 4300 digits
    error = _refused(f"providers:\n  x:\n    prices:\n      m: {{input: {digits}, output: 1}}\n")
    assert "cannot be read" in str(error)


def test_a_normal_file_is_not_affected(app_ctx, calls):
    result = import_config(many_personas(300, prompt_chars=2000), environ={})
    assert len(result.created) == 300
    assert (calls.composed, calls.constructed) == (1, 1)


# --- on the page and in the CLI ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BILLION_LAUGHS, "anchor"),
        (DEEP_FLOW, "levels deep"),
        ("providers:\n  groq: {}\n  groq: {}\n", "appears twice"),
    ],
)
def test_page_shows_the_error_when_pasted(app, client, csrf, text, expected):
    response = client.post("/settings/config/import", data={"csrf_token": csrf, "text": text})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page and expected in page


@pytest.mark.parametrize(
    ("text", "expected"),
    [(BILLION_LAUGHS, "anchor"), (many_personas(14_000), "too large")],
)
def test_page_shows_the_error_when_uploaded(app, client, csrf, calls, text, expected):
    response = client.post(
        "/settings/config/import",
        data={"csrf_token": csrf, "file": (io.BytesIO(text.encode()), "config.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page and expected in page
    assert calls.composed == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BILLION_LAUGHS, "anchor"),
        (DEEP_FLOW, "levels deep"),
        (many_personas(14_000), "too large"),
        ("providers:\n  groq: {}\n  groq: {}\n", "appears twice"),
    ],
)
def test_cli_gives_one_line(app, runner, tmp_path, calls, text, expected):
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    result = runner.invoke(args=["calango", "import-config", str(path)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and expected in result.stderr
    assert "Traceback" not in result.output
    assert calls.constructed == 0


def test_cli_reads_no_more_than_the_limit_from_stdin(app, runner, calls):
    result = runner.invoke(
        args=["calango", "import-config", "-"], input=many_personas(14_000).encode()
    )
    assert result.exit_code == 1 and "too large" in result.stderr
    assert calls.parsers == 0


def test_many_personas_cost_a_few_queries_not_one_each(app_ctx):
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        import_config(many_personas(300, prompt_chars=10), environ={})
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) < 10, len(selects)


def test_imported_persona_names_fold_case_like_the_form(app_ctx):
    import_config("personas:\n  - {name: Ipê, prompt: one}\n", environ={})
    result = import_config("personas:\n  - {name: IPÊ, prompt: two}\n", environ={})
    assert result.created == [] and result.updated == ["personas.IPÊ"]
    assert db.session.scalar(Persona.select_by_name("Ipê")).prompt == "two"
