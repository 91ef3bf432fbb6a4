"""Configuration for the two ways Calango runs, chosen by ``CALANGO_MODE``.

DESKTOP (default) keeps everything in a SQLite file under ``CALANGO_HOME`` and generates its
own secrets there; SERVER takes PostgreSQL and its secrets from the environment.
"""

from __future__ import annotations

import base64
import binascii
import math
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


def _float_env(name: str, default: float) -> float:
    """A positive, finite number of seconds (``1.5``); ``1s``, ``abc``, ``0``, ``-3`` fail."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be a number of seconds (e.g. {name}={default:g}), got {raw!r}."
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a number of seconds greater than zero, got {raw!r}.")
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level_env() -> str:
    raw = os.environ.get("CALANGO_LOG_LEVEL", "").strip()
    level = raw.upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(f"CALANGO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}.")
    return level


SECRET_KEY_MIN_LENGTH = 16
SECRET_KEY_MIN_DISTINCT = 8


def validate_secret_key(value: str) -> str:
    """Refuse a session key that is short or trivially guessable (``ssss…``, ``abababab…``)."""
    if len(value) < SECRET_KEY_MIN_LENGTH or len(set(value)) < SECRET_KEY_MIN_DISTINCT:
        raise ConfigError(
            f"SECRET_KEY is not set, or too short or too simple (it needs "
            f"{SECRET_KEY_MIN_LENGTH}+ characters with at least {SECRET_KEY_MIN_DISTINCT} "
            'different ones): use a long random value, e.g. SECRET_KEY=$(python -c "import '
            'secrets; print(secrets.token_hex(32))") in .env.'
        )
    return value


# DESKTOP answers only these Host names (any port): a web page on another name that resolves
# to 127.0.0.1 (DNS rebinding) must not be able to read the app.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _hosts_env() -> tuple[str, ...]:
    raw = os.environ.get("CALANGO_ALLOWED_HOSTS", "")
    return tuple(h.strip().lower() for h in raw.split(",") if h.strip())


# The server's own secrets: an imported configuration may never read them into a field.
PROTECTED_ENV_NAMES = ("SECRET_KEY", "DATABASE_URL")


def is_protected_env_name(name: str) -> bool:
    """Whether ``name`` holds one of the server's own settings or secrets."""
    return name in PROTECTED_ENV_NAMES or name.startswith(("CALANGO_", "FLASK_"))


def _import_env() -> tuple[str, ...]:
    """Extra variables (besides ``*_API_KEY``) an imported ``api_key`` may read."""
    raw = os.environ.get("CALANGO_IMPORT_ENV", "")
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    for name in names:
        if not name.isidentifier():
            raise ConfigError(
                f"CALANGO_IMPORT_ENV must be variable names separated by commas, got {raw!r}."
            )
        if is_protected_env_name(name):
            raise ConfigError(
                f"CALANGO_IMPORT_ENV must not list {name}: it is one of Calango's own settings "
                "and an imported file must never read it."
            )
    return names


def _timezone_env(name: str = "CALANGO_TIMEZONE") -> str:
    """An IANA time zone name (``America/Sao_Paulo``); UTC when unset."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return "UTC"
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be a time zone name such as America/Sao_Paulo or Europe/Berlin, "
            f"got {raw!r}."
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
    TESTING = False
    # The session cookie is never sent on cross-site subrequests, nor readable by scripts.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Whether a page may hand out secrets (stored API keys in an export, environment variables
    # in an import) to anyone who reaches it: DESKTOP, where whoever reaches the page owns the
    # machine. In SERVER only a signed-in admin may (calango.import_export.routes).
    SECRETS_OVER_HTTP = True

    def __init__(self) -> None:
        self.MAX_MESSAGE_CHARS = _int_env("CALANGO_MAX_MESSAGE_CHARS", 100_000)
        # A form carrying a maximal message (plus selects and token) must still parse.
        self.MAX_CONTENT_LENGTH = _int_env("CALANGO_MAX_UPLOAD_BYTES", 16 * 1024 * 1024)
        # Files attached to one message (calango.services.attachments): each at most this
        # size, this many, and their text at most this many estimated tokens. All of a send's
        # files together stay within MAX_CONTENT_LENGTH above.
        self.MAX_ATTACHMENT_BYTES = _int_env("CALANGO_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
        self.MAX_ATTACHMENTS = _int_env("CALANGO_MAX_ATTACHMENTS", 8)
        self.MAX_ATTACHMENT_TOKENS = _int_env("CALANGO_MAX_ATTACHMENT_TOKENS", 100_000)
        # Import files (history, exports) may be much larger; they are spooled to disk.
        self.MAX_IMPORT_BYTES = _int_env("CALANGO_MAX_IMPORT_BYTES", 1024 * 1024 * 1024)
        self.PROVIDER_CONNECT_TIMEOUT = _float_env("CALANGO_CONNECT_TIMEOUT", 10.0)
        self.PROVIDER_READ_TIMEOUT = _float_env("CALANGO_READ_TIMEOUT", 120.0)
        # Where first-run set-up looks for a local Ollama server.
        self.OLLAMA_URL = os.environ.get("CALANGO_OLLAMA_URL", "http://localhost:11434")
        self.PROVIDER_MAX_RETRIES = _int_env("CALANGO_PROVIDER_RETRIES", 2)
        self.STREAM_LEASE_SECONDS = _int_env("CALANGO_STREAM_LEASE_SECONDS", 30)
        self.LOG_LEVEL = _log_level_env()
        # Where the sign-in rate limits are counted: memory (one process) by default, or a
        # shared store for several workers, e.g. RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379.
        self.RATELIMIT_STORAGE_URI = (
            os.environ.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://"
        )
        self.IMPORT_ENV = _import_env()
        # Host names requests may carry (None: any); checked by calango.web before anything.
        extra = _hosts_env()
        self.ALLOWED_HOSTS: tuple[str, ...] | None = (
            None if "*" in extra else tuple(dict.fromkeys((*LOCAL_HOSTS, *extra)))
        )
        # Dates are shown, and the dashboard counts days, in this zone.
        self.BABEL_DEFAULT_TIMEZONE = _timezone_env()


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
        env_secret = os.environ.get("SECRET_KEY", "").strip()
        self.SECRET_KEY = (
            validate_secret_key(env_secret)
            if env_secret
            else (_read_or_create_secret(home / "secret_key", lambda: secrets.token_hex(32)))
        )
        env_key = os.environ.get("CALANGO_ENCRYPTION_KEY")
        self.ENCRYPTION_KEY = (
            validate_encryption_key(env_key)
            if env_key
            else _read_or_create_secret(home / "encryption.key", _new_fernet_key)
        )


class ServerConfig(BaseConfig):
    """A shared instance: PostgreSQL, secrets from the environment."""

    MODE = "SERVER"
    SECRETS_OVER_HTTP = False

    def __init__(self) -> None:
        super().__init__()
        # Cookies only over HTTPS, unless CALANGO_INSECURE_COOKIES=1 (plain HTTP on a trusted
        # network, or a local test).
        secure = os.environ.get("CALANGO_INSECURE_COOKIES", "").strip() != "1"
        self.SESSION_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_SECURE = secure
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
        self.SECRET_KEY = validate_secret_key(os.environ.get("SECRET_KEY", "").strip())
        key = os.environ.get("CALANGO_ENCRYPTION_KEY", "").strip()
        if not key:
            raise ConfigError(
                "CALANGO_ENCRYPTION_KEY is not set: SERVER mode needs it to encrypt API keys. "
                'Generate one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())" and put it in .env.'
            )
        self.ENCRYPTION_KEY = validate_encryption_key(key)
        self.CALANGO_HOME = str(calango_home())
        hosts = _hosts_env()
        if not hosts:
            raise ConfigError(
                "CALANGO_ALLOWED_HOSTS is not set: SERVER mode answers only the host names "
                "listed there, e.g. CALANGO_ALLOWED_HOSTS=calango.example.com (or * for any, "
                "when the reverse proxy checks the Host header)."
            )
        self.ALLOWED_HOSTS = None if "*" in hosts else hosts


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
