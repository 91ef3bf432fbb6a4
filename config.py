"""Configuration for the two ways Calango runs, chosen by ``CALANGO_MODE``.

DESKTOP (default) keeps everything in a SQLite file under ``CALANGO_HOME`` and generates its
own secrets there; SERVER takes PostgreSQL and its secrets from the environment.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

load_dotenv()  # .env beside the project (or in a parent folder); never overrides real env vars


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and says how to set it."""


def calango_home() -> Path:
    """The folder holding the desktop database and secrets (``~/.calango`` by default)."""
    return Path(os.environ.get("CALANGO_HOME") or Path.home() / ".calango").expanduser()


def _read_or_create_secret(path: Path, make: Any) -> str:
    """Return the secret kept in ``path``, creating it (mode 0600) on first use."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)
    return value


def _new_fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def validate_encryption_key(value: str, variable: str = "CALANGO_ENCRYPTION_KEY") -> str:
    """Check that ``value`` is a Fernet key (32 url-safe base64 bytes)."""
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(
            f"{variable} is not a valid key: it must be 32 url-safe base64-encoded bytes. "
            'Generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
    return value


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than zero, got {raw!r}.")
    return value


def _timezone_env(name: str, default: str) -> str:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    from babel.dates import get_timezone

    try:
        get_timezone(raw)
    except LookupError:
        raise ConfigError(
            f"{name} must be an IANA time zone such as America/Sao_Paulo, got {raw!r}."
        ) from None
    return raw


def normalize_database_url(url: str) -> str:
    """Pin PostgreSQL URLs to psycopg2 (SQLAlchemy 2.1 would pick psycopg 3)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


class BaseConfig:
    """Settings shared by every mode."""

    MODE = "DESKTOP"
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session; chats stay open for days
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ("en", "pt_BR")
    LOGIN_REQUIRED = False
    TESTING = False

    def __init__(self) -> None:
        self.MAX_MESSAGE_CHARS = _int_env("CALANGO_MAX_MESSAGE_CHARS", 100_000)
        # A form carrying a maximal message (plus selects and token) must still parse.
        self.MAX_CONTENT_LENGTH = _int_env("CALANGO_MAX_UPLOAD_BYTES", 16 * 1024 * 1024)
        self.PROVIDER_CONNECT_TIMEOUT = float(os.environ.get("CALANGO_CONNECT_TIMEOUT", "10"))
        self.PROVIDER_READ_TIMEOUT = float(os.environ.get("CALANGO_READ_TIMEOUT", "120"))
        # Where first-run set-up looks for a local Ollama server.
        self.OLLAMA_URL = os.environ.get("CALANGO_OLLAMA_URL", "http://localhost:11434")
        self.PROVIDER_MAX_RETRIES = _int_env("CALANGO_PROVIDER_RETRIES", 2)
        self.STREAM_LEASE_SECONDS = _int_env("CALANGO_STREAM_LEASE_SECONDS", 30)
        self.LOG_LEVEL = os.environ.get("CALANGO_LOG_LEVEL", "INFO").upper()
        # Dates are shown, and the sidebar grouped by day (Today, Yesterday...), in this zone.
        self.BABEL_DEFAULT_TIMEZONE = _timezone_env("CALANGO_TIMEZONE", "UTC")


class DesktopConfig(BaseConfig):
    """One person on their own machine: SQLite under ``CALANGO_HOME``, no login."""

    MODE = "DESKTOP"

    def __init__(self) -> None:
        super().__init__()
        home = calango_home()
        try:
            # Private: it holds the chats, the database and the keys that decrypt API keys.
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"CALANGO_HOME ({home}) cannot be created: {exc.strerror}. "
                "Set CALANGO_HOME to a writable folder."
            ) from None
        self.CALANGO_HOME = str(home)
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{home / 'calango.db'}"
        )
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _read_or_create_secret(
            home / "secret_key", lambda: secrets.token_hex(32)
        )
        env_key = os.environ.get("CALANGO_ENCRYPTION_KEY")
        self.ENCRYPTION_KEY = (
            validate_encryption_key(env_key)
            if env_key
            else _read_or_create_secret(home / "encryption.key", _new_fernet_key)
        )


class ServerConfig(BaseConfig):
    """A shared instance: PostgreSQL, secrets from the environment, accounts."""

    MODE = "SERVER"
    LOGIN_REQUIRED = True
    SESSION_COOKIE_SECURE = os.environ.get("CALANGO_INSECURE_COOKIES", "") != "1"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"

    def __init__(self) -> None:
        super().__init__()
        url = os.environ.get("DATABASE_URL", "").strip()
        if not url:
            raise ConfigError(
                "DATABASE_URL is not set: SERVER mode needs PostgreSQL, e.g. "
                "DATABASE_URL=postgresql://calango:secret@localhost:5432/calango in .env."
            )
        if not url.startswith(("postgres://", "postgresql://", "postgresql+psycopg2://")):
            raise ConfigError(
                "DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host:5432/db) "
                "in SERVER mode."
            )
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(url)
        self.SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
        if len(self.SECRET_KEY) < 16:
            raise ConfigError(
                "SECRET_KEY is not set or shorter than 16 characters: SERVER mode needs a "
                'long random value, e.g. SECRET_KEY=$(python -c "import secrets; '
                'print(secrets.token_hex(32))") in .env.'
            )
        key = os.environ.get("CALANGO_ENCRYPTION_KEY", "").strip()
        if not key:
            raise ConfigError(
                "CALANGO_ENCRYPTION_KEY is not set: SERVER mode needs it to encrypt API keys. "
                'Generate one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())" and put it in .env.'
            )
        self.ENCRYPTION_KEY = validate_encryption_key(key)
        self.CALANGO_HOME = str(calango_home())


class TestConfig(BaseConfig):
    """Used by the test suite: the database URL is given by the fixtures."""

    __test__ = False  # not a pytest test class
    MODE = "DESKTOP"
    TESTING = True
    WTF_CSRF_ENABLED = True

    def __init__(self, database_url: str = "sqlite://", home: str | None = None) -> None:
        super().__init__()
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(database_url)
        self.SECRET_KEY = "test-secret-key-not-for-production"
        self.ENCRYPTION_KEY = _new_fernet_key()
        self.CALANGO_HOME = home or str(calango_home())
        self.OLLAMA_URL = "http://127.0.0.1:9"  # discard port: no Ollama unless a test starts one


MODES: dict[str, type[BaseConfig]] = {"DESKTOP": DesktopConfig, "SERVER": ServerConfig}


def config_from_env() -> BaseConfig:
    """Build the configuration object for ``CALANGO_MODE`` (DESKTOP or SERVER)."""
    mode = os.environ.get("CALANGO_MODE", "DESKTOP").strip().upper() or "DESKTOP"
    if mode not in MODES:
        raise ConfigError(
            f"CALANGO_MODE must be DESKTOP or SERVER, got {mode!r}. "
            "Unset it for the desktop app or set CALANGO_MODE=SERVER."
        )
    return MODES[mode]()
