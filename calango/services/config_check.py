"""Checking one field of an imported configuration, naming its path and line on error."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

from calango.services.config_errors import ConfigImportError, Path, path_text

# ``${NAME}`` or ``$NAME``: read from the environment, in ``api_key`` only.
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def url_error(path: str) -> str:
    """The message for a base URL that is not a plain http(s) address."""
    return _(
        "%(path)s must be an http:// or https:// address with a host name, and without a user "
        "name or password in it.",
        path=path,
    )


def env_reference_allowed(name: str, extra: tuple[str, ...] = ()) -> bool:
    """Whether an import may read the environment variable ``name`` into an ``api_key``:
    names like ``*_API_KEY`` and those in CALANGO_IMPORT_ENV, never the server's own secrets."""
    from config import is_protected_env_name

    if is_protected_env_name(name):
        return False
    return name.endswith("_API_KEY") or name in extra


class Checker:
    """Field checks that name the field's path and line in their errors."""

    def __init__(self, lines: dict[Path, int], env_allowed: Callable[[str], bool]) -> None:
        self.lines = lines
        self.env_allowed = env_allowed

    def no_reference(self, value: str, path: Path) -> None:
        """Refuse ``${VAR}`` outside ``api_key``: nothing else is read from the environment."""
        match = ENV_REFERENCE.search(value)
        if match:
            raise self.fail(
                path,
                _(
                    "%(path)s contains %(ref)s, but environment variables are read only in "
                    "api_key; write the value itself.",
                    path=path_text(path),
                    ref=match.group(0),
                ),
            )

    def key_references(self, value: str, path: Path) -> None:
        """Every ``${VAR}`` in an ``api_key`` must name an API-key variable."""
        for match in ENV_REFERENCE.finditer(value):
            name = match.group(1) or match.group(2)
            if not self.env_allowed(name):
                raise self.fail(
                    path,
                    _(
                        "%(path)s reads %(ref)s, which is not an API key variable: only "
                        "variables named *_API_KEY, or listed in CALANGO_IMPORT_ENV, are read.",
                        path=path_text(path),
                        ref=match.group(0),
                    ),
                )

    def at_most(self, items: Any, path: Path, limit: int) -> None:
        if len(items) > limit:
            raise self.fail(
                path,
                _(
                    "%(path)s has %(count)d entries; at most %(max)d are accepted.",
                    path=path_text(path),
                    count=len(items),
                    max=limit,
                ),
            )

    def fail(self, path: Path, message: str) -> ConfigImportError:
        line = self.lines.get(path)
        shown = path_text(path)
        if line is not None:
            message = _("%(message)s (line %(line)d)", message=message, line=line)
        return ConfigImportError(message, path=shown, line=line)

    def mapping(self, value: Any, path: Path) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(
                path, _("%(path)s must be a mapping (name: value).", path=path_text(path))
            )
        return value

    def known_keys(self, value: dict[Any, Any], path: Path, allowed: tuple[str, ...]) -> None:
        for key in value:
            if key not in allowed:
                raise self.fail(
                    (*path, str(key)),
                    _(
                        "%(path)s is not a known field; use %(allowed)s.",
                        path=path_text((*path, str(key))),
                        allowed=", ".join(allowed),
                    ),
                )

    def text(
        self, value: Any, path: Path, max_len: int, required: bool = True, verbatim: bool = False
    ) -> str:
        """Checked text; ``${VAR}`` in it is refused unless ``verbatim`` (prompts, keys)."""
        if value is None:
            value = ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(path, _("%(path)s must be text.", path=path_text(path)))
        text = str(value).strip()
        if required and not text:
            raise self.fail(path, _("%(path)s must not be empty.", path=path_text(path)))
        if len(text) > max_len:
            raise self.fail(
                path,
                _("%(path)s is longer than %(max)d characters.", path=path_text(path), max=max_len),
            )
        if not verbatim:
            self.no_reference(text, path)
        return text
