"""Encryption of secrets at rest (provider API keys) with Fernet."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext as _


class KeyDecryptionError(Exception):
    """A stored secret cannot be decrypted with the configured encryption key."""


def _fernet() -> Fernet:
    return Fernet(current_app.config["ENCRYPTION_KEY"].encode())


def encrypt_secret(plain: str) -> str:
    """Encrypt ``plain`` with the app's key; the result is safe to store."""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_secret(token: str) -> str:
    """Decrypt a value made by :func:`encrypt_secret`.

    Raises :class:`KeyDecryptionError` when the configured key is not the one it was saved
    with, instead of returning garbage.
    """
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise KeyDecryptionError(
            _(
                "A stored API key cannot be decrypted: the encryption key "
                "(CALANGO_ENCRYPTION_KEY or encryption.key in CALANGO_HOME) is not the one it "
                "was saved with. Restore the original key or enter the API key again."
            )
        ) from None
