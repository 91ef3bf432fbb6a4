"""The colour themes; their colours live in static/css/themes.css as custom properties."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

DEFAULT_THEME = "calango"

# id -> label; ids are the ``data-theme`` values in themes.css.
THEMES = {
    "calango": _l("Calango (green)"),
    "ipe": _l("Ipê (purple)"),
    "girassol": _l("Girassol (sunflower)"),
    "tie": _l("Tiê (red)"),
    "gralha": _l("Gralha (blue)"),
    "boto": _l("Boto (pink)"),
    "claro": _l("Claro (light)"),
    # Calango or Claro, as the system's light/dark setting says (themes.css, CSS only).
    "system": _l("Follow the system (Calango or Claro)"),
}
