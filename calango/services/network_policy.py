"""Whether providers may live on local or private addresses (the SSRF guard's policy).

DESKTOP: always (a local Ollama is the normal case). SERVER: only when an admin enables
"allow local providers" (one global row in the settings table, off by default). The decision
is passed to :mod:`calango.llm` in ``ProviderSettings.allow_private_addresses``; the guard
itself (resolve once, check every address, connect to the checked one) is
:mod:`calango.llm.netguard`.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import ScalarSelect, select

from calango.extensions import db
from calango.llm.errors import AddressRefused
from calango.llm.netguard import check_url
from calango.models import Setting

ALLOW_LOCAL_KEY = "allow_local_providers"


def guard_applies() -> bool:
    """Whether this instance guards provider addresses at all (SERVER mode)."""
    return current_app.config.get("MODE") == "SERVER"


def local_providers_allowed() -> bool:
    """Whether provider requests may reach loopback, private and link-local addresses."""
    if not guard_applies():
        return True
    if has_request_context() and _PRIMED in g:
        return g.get(_PRIMED) is True
    return Setting.get(ALLOW_LOCAL_KEY, False) is True


_PRIMED = "calango_allow_local_providers"


def stored_choice() -> ScalarSelect[Any]:
    """The stored choice as a scalar subquery, for a statement the request runs anyway (the
    send's lookup); hand its value to :func:`prime_choice`."""
    return select(Setting.value).where(Setting.key == ALLOW_LOCAL_KEY).scalar_subquery()


def prime_choice(value: Any) -> None:
    """Remember for this request the stored choice read by :func:`stored_choice`."""
    if has_request_context():
        setattr(g, _PRIMED, value)


def set_local_providers_allowed(allowed: bool) -> None:
    """Store the admin's choice (SERVER mode) and commit."""
    Setting.put(ALLOW_LOCAL_KEY, bool(allowed))
    db.session.commit()
    if has_request_context():
        g.pop(_PRIMED, None)


def describe_refusal(exc: AddressRefused) -> str:
    """The translated sentence shown when the guard refuses an address."""
    return _(
        "The address %(host)s resolves to %(address)s, a private, loopback or link-local "
        "address, and this server does not allow local providers. An admin can allow them in "
        "Settings → Providers.",
        host=exc.host,
        address=exc.address,
    )


def base_url_refusal(base_url: str | None) -> str | None:
    """Why ``base_url`` may not be saved on this instance (translated), or ``None``.

    The early, friendly check when a provider is saved; connecting re-checks every time.
    """
    if not base_url or local_providers_allowed():
        return None
    try:
        check_url(base_url)
    except AddressRefused as exc:
        return describe_refusal(exc)
    return None
