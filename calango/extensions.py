"""Flask extensions, created unbound here and initialised by ``create_app``."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints let Alembic's SQLite batch mode add and drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every Calango model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects stay readable after commit: a request that commits then renders what it wrote
# (the chat send) must not reload every row it just saved.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()


# Sign-in and registration attempts are counted per address (and e-mail); the store comes
# from RATELIMIT_STORAGE_URI (memory by default, Redis for several workers).
def client_address() -> str:
    """The address a request came from: behind the reverse proxy (a peer listed in
    ``FORWARDED_ALLOW_IPS``, as gunicorn.conf.py trusts it) the last ``X-Forwarded-For`` entry,
    which that proxy appended; else the peer itself. Without this every user behind nginx
    would share one rate limit."""
    import os

    from flask import request

    peer = get_remote_address()
    trusted = {a.strip() for a in os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1").split(",")}
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and (peer in trusted or "*" in trusted):
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return peer


limiter = Limiter(key_func=client_address)
