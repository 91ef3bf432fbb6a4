"""``flask calango transfer --to postgresql://...``: the desktop database moved to a server.

Everything is copied in one transaction on the target, in batches, with ids and timestamps
kept; API keys are re-encrypted when the target uses another encryption key; the row counts
and the sum of costs are compared at the end. A target holding chats or providers is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from calango.extensions import db
from calango.services.backups.table_copy import CopyError, check_compatible, copy_tables, is_empty
from config import ConfigError, normalize_database_url, validate_encryption_key


class TransferError(Exception):
    """The transfer cannot be done; the message says why. The target is left unchanged."""


def _target_url(raw: str) -> str:
    url = normalize_database_url(raw.strip())
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise TransferError(
            _("--to must be a PostgreSQL URL (postgresql://user@host/db).")
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise TransferError(_("--to must be a PostgreSQL URL (postgresql://user@host/db)."))
    return url


def key_hook(source_key: str, target_key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A row hook that re-encrypts a provider's key from ``source_key`` to ``target_key``."""
    source, target = Fernet(source_key.encode()), Fernet(target_key.encode())

    def reencrypt(row: dict[str, Any]) -> dict[str, Any]:
        token = row.get("api_key_encrypted")
        if token:
            try:
                plain = source.decrypt(token.encode())
            except InvalidToken:
                raise TransferError(
                    _(
                        "The API key of %(name)s cannot be decrypted with this Calango's "
                        "encryption key; enter it again in Settings → Providers, then retry.",
                        name=row["name"],
                    )
                ) from None
            row = {**row, "api_key_encrypted": target.encrypt(plain).decode()}
        return row

    return reencrypt


def transfer(
    target_url: str,
    target_key: str | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Copy this SQLite database into the PostgreSQL database at ``target_url``.

    Returns the verified totals; raises :class:`TransferError` (nothing written then).
    """
    if db.engine.dialect.name != "sqlite":
        raise TransferError(_("transfer copies a desktop (SQLite) database; this one is not."))
    url = _target_url(target_url)
    hooks = {}
    source_key = current_app.config["ENCRYPTION_KEY"]
    if target_key:
        try:
            validate_encryption_key(target_key.strip(), "--target-key")
        except ConfigError as exc:
            raise TransferError(str(exc)) from None
        if target_key.strip() != source_key:
            hooks["providers"] = key_hook(source_key, target_key.strip())
    shown = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(url)
    try:
        with db.engine.connect() as source, engine.begin() as target:
            check_compatible(source, target)
            if not is_empty(target):
                raise TransferError(
                    _(
                        "%(url)s already holds chats, providers or personas of its own; "
                        "transfer only goes into an empty database.",
                        url=shown,
                    )
                )
            return copy_tables(source, target, hooks, progress)
    except CopyError as exc:
        raise TransferError(str(exc)) from None
    except SQLAlchemyError as exc:
        current_app.logger.warning("transfer failed: %s", exc.__class__.__name__)
        raise TransferError(
            _(
                "%(url)s: the database could not be reached or written (%(error)s). Nothing was "
                "kept.",
                url=shown,
                error=str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200],
            )
        ) from None
    finally:
        engine.dispose()
