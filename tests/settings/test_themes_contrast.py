"""Every theme in static/css/themes.css meets WCAG AA (4.5:1) for the text it carries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from calango.themes import DEFAULT_THEME, THEMES

THEMES_CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "themes.css"
AA_BODY_TEXT = 4.5

# (foreground, background, where the pair appears) — see static/css/calango.css.
PAIRS = [
    ("--text", "--bg", "body text"),
    ("--text", "--surface", "text on cards, top bar, sidebar"),
    ("--text", "--surface-2", "buttons, current navigation item"),
    ("--text", "--user-bubble", "the user's messages"),
    ("--text", "--assistant-bubble", "the assistant's messages"),
    ("--text", "--code-bg", "code blocks"),
    ("--inline-code", "--code-bg", "inline code"),
    ("--muted", "--bg", "help text, secondary text"),
    ("--muted", "--surface", "navigation links, muted text on cards"),
    ("--muted", "--surface-2", "muted text on raised controls"),
    ("--accent-text", "--accent", "primary buttons"),
    ("--accent-text", "--accent-strong", "primary buttons on hover"),
    ("--accent-strong", "--bg", "links"),
    ("--accent-strong", "--surface", "links on cards"),
    ("--danger", "--bg", "error messages beside fields"),
    ("--danger", "--surface", "delete buttons, errors on cards"),
    ("--danger", "--surface-2", "delete buttons"),
]
# WCAG 1.4.11: focus rings and the marks of the current choice need 3:1 against what they sit on.
AA_NON_TEXT = 3.0
NON_TEXT_PAIRS = [
    ("--accent-strong", "--bg", "focus ring"),
    ("--accent-strong", "--surface", "focus ring on cards"),
    ("--accent-strong", "--surface-2", "focus ring on buttons"),
    ("--accent", "--surface", "selected theme card, current-page underline"),
    ("--accent", "--bg", "focused field border"),
]
VARIABLES = sorted({name for pair in PAIRS + NON_TEXT_PAIRS for name in pair[:2]})


LIGHT_MEDIA = re.compile(r"@media \(prefers-color-scheme: light\)\s*\{((?:[^{}]*\{[^{}]*\})*)\s*\}")


def _parse_themes(css: str) -> dict[str, dict[str, str]]:
    """theme id -> {custom property: value} for every ``[data-theme="..."]`` block. Blocks
    inside ``@media (prefers-color-scheme: light)`` count as the theme id + ``@light``."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    light = " ".join(LIGHT_MEDIA.findall(css))
    css = LIGHT_MEDIA.sub("", css)
    if light:
        light_themes = _parse_themes(light)
        themes = _parse_themes(css)
        for theme_id, values in light_themes.items():
            themes[f"{theme_id}@light"] = values
        return themes
    themes: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        ids = re.findall(r'\[data-theme="([^"]+)"\]', selectors)
        declarations = dict(re.findall(r"(--[\w-]+|color-scheme)\s*:\s*([^;]+);", body))
        for theme_id in ids:
            themes.setdefault(theme_id, {}).update(declarations)
    return themes


def _rgb(value: str) -> tuple[float, float, float]:
    value = value.strip().lower()
    match = re.fullmatch(r"#([0-9a-f]{3}|[0-9a-f]{6})", value)
    assert match, f"colour {value!r} is not #rgb or #rrggbb (the test only reads hex)"
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def _luminance(value: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(value))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two hex colours."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


PARSED = _parse_themes(THEMES_CSS.read_text(encoding="utf-8"))


def test_contrast_formula_matches_wcag_reference_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#fff", "#000") == contrast("#000000", "#ffffff")


def test_every_theme_has_a_css_block_and_every_block_a_theme():
    assert {t.removesuffix("@light") for t in PARSED} == set(THEMES)


def test_following_the_system_is_calango_when_dark_and_claro_when_light():
    # Every colour, so that each half passes exactly what its model passes.
    assert PARSED["system"] == {k: v for k, v in PARSED["calango"].items() if k in PARSED["system"]}
    assert set(PARSED["system"]) == set(PARSED["calango"])
    light = PARSED["system@light"]
    assert {k: v for k, v in light.items() if not k.startswith("--chart")} == {
        k: v for k, v in PARSED["claro"].items() if not k.startswith("--chart")
    }
    assert light["color-scheme"] == "light"


def test_inline_code_stands_out_from_body_text_in_the_light_theme():
    # In Claro inline code looked like the text around it (same colour, near-white background).
    claro = PARSED["claro"]
    assert claro["--inline-code"] != claro["--text"]
    for background in ("--user-bubble", "--assistant-bubble", "--code-bg"):
        assert contrast(claro["--inline-code"], claro[background]) >= AA_BODY_TEXT


def test_the_default_theme_is_also_the_root_fallback():
    css = re.sub(r"/\*.*?\*/", "", THEMES_CSS.read_text(encoding="utf-8"), flags=re.S)
    assert re.search(rf':root\s*,\s*\[data-theme="{DEFAULT_THEME}"\]\s*\{{', css)


@pytest.mark.parametrize("theme_id", list(THEMES))
def test_theme_defines_every_colour(theme_id):
    missing = [
        name for name in [*VARIABLES, "color-scheme"] if name not in PARSED.get(theme_id, {})
    ]
    assert not missing, f"{theme_id} lacks {missing}"
    # Form controls and scrollbars follow it; only the light theme may say "light".
    expected = "light" if theme_id == "claro" else "dark"
    assert PARSED[theme_id]["color-scheme"] == expected


def _failures(theme_id: str, pairs: list[tuple[str, str, str]], minimum: float) -> list[str]:
    colours = PARSED[theme_id]
    failures = []
    for foreground, background, where in pairs:
        ratio = contrast(colours[foreground], colours[background])
        if ratio < minimum:
            failures.append(
                f"{foreground} {colours[foreground]} on {background} {colours[background]} "
                f"({where}): {ratio:.2f} < {minimum}"
            )
    return failures


@pytest.mark.parametrize("theme_id", list(THEMES))
def test_theme_text_meets_aa_contrast(theme_id):
    failures = _failures(theme_id, PAIRS, AA_BODY_TEXT)
    assert not failures, f"theme {theme_id}:\n" + "\n".join(failures)


@pytest.mark.parametrize("theme_id", list(THEMES))
def test_theme_focus_and_selection_marks_meet_non_text_contrast(theme_id):
    failures = _failures(theme_id, NON_TEXT_PAIRS, AA_NON_TEXT)
    assert not failures, f"theme {theme_id}:\n" + "\n".join(failures)
