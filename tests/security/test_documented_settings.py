"""The README's configuration table lists every environment variable Calango reads."""

from __future__ import annotations

import re

from tests.security.conftest import ROOT

SOURCES = ("calango", "bench", "config.py", "wsgi.py", "gunicorn.conf.py", "tests/conftest.py")
# A quoted CALANGO_* name, or the others gunicorn.conf.py and config.py read.
NAME = re.compile(
    r"[\"'](CALANGO_[A-Z_]+|DATABASE_URL|SECRET_KEY|WEB_CONCURRENCY|FORWARDED_ALLOW_IPS)[\"']"
)


def _names_in_code() -> set[str]:
    names: set[str] = set()
    for source in SOURCES:
        path = ROOT / source
        files = [path] if path.is_file() else list(path.rglob("*.py"))
        for file in files:
            names.update(NAME.findall(file.read_text(encoding="utf-8")))
    return names


def test_every_variable_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| Variable | Mode | Meaning |") :]
    table = table[: table.index("\n\n")]
    names = _names_in_code()
    assert {"CALANGO_ALLOWED_HOSTS", "CALANGO_IMPORT_ENV", "CALANGO_ALLOW_REMOTE_DESKTOP"} <= names
    missing = sorted(n for n in names if f"`{n}`" not in table)
    assert not missing, f"not in the README's configuration table: {missing}"
