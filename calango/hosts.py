"""Which Host header values the app answers (the defence against DNS rebinding)."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A host name or IPv4 address, or a bracketed IPv6 address, then an optional port.
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::[0-9]{1,5})?", re.ASCII)


def normalize_host(value: str) -> str | None:
    """``LocalHost.:5000`` → ``localhost``; ``[::1]:80`` → ``[::1]``; ``None`` if malformed."""
    match = _HOST.fullmatch(value.strip().lower())
    if match is None:
        return None
    name = match.group(1)
    return name.rstrip(".") if not name.startswith("[") else name


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether the request's ``Host`` (``name[:port]``, any port) names an allowed host.

    ``allowed`` holds names (``calango.example.com``, ``127.0.0.1``, ``[::1]``); one starting
    with a dot (``.example.com``) also admits every sub-domain.
    """
    name = normalize_host(host)
    if not name:
        return False
    for entry in allowed:
        entry = entry.strip().lower()
        if entry.startswith(".") and (name == entry[1:] or name.endswith(entry)):
            return True
        if name == (normalize_host(entry) or entry):
            return True
    return False
